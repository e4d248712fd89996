#version 330 core
// The video frame with the similarity heatmap over it: the heatmap texture is one float per feature-map cell,
// filtered bilinearly by the sampler, mapped from [uLow, uHigh] through turbo, and blended at uOpacity.
#include "colormap.glsl"
in vec2 vUv;
uniform sampler2D uFrame;
uniform sampler2D uHeat;
uniform float uLow;
uniform float uHigh;
uniform float uOpacity;
out vec4 outColor;

void main()
{
    vec3 frame = texture(uFrame, vUv).rgb;
    float t = (texture(uHeat, vUv).r - uLow) / max(uHigh - uLow, 1e-6);
    outColor = vec4(mix(frame, turbo(t), uOpacity), 1.0);
}

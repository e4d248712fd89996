#version 330 core
// A matrix of numbers as colours, one texel per number (nearest filtering): the self-similarity matrix and the
// similarity strip. uColormap 0 = turbo, 1 = viridis.
#include "colormap.glsl"
in vec2 vUv;
uniform sampler2D uValues;
uniform float uLow;
uniform float uHigh;
uniform int uColormap;
out vec4 outColor;

void main()
{
    float t = (texture(uValues, vUv).r - uLow) / max(uHigh - uLow, 1e-6);
    outColor = vec4(uColormap == 0 ? turbo(t) : viridis(t), 1.0);
}

#version 330 core
// Text: glyph coverage from the font atlas (rasterised once by SkiaSharp) as the alpha of one colour.
in vec2 vUv;
uniform sampler2D uAtlas;
uniform vec4 uColor;
out vec4 outColor;

void main()
{
    outColor = vec4(uColor.rgb, uColor.a * texture(uAtlas, vUv).r);
}

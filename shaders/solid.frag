#version 330 core
// Panels, plot lines (drawn as quads: core profile has no wide lines) and markers: one colour with alpha.
uniform vec4 uColor;
out vec4 outColor;

void main()
{
    outColor = uColor;
}

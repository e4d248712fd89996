#version 330 core
// Every overlay draw is a list of screen-space triangles: position in canvas pixels (y down, so the first row
// read back is the top of the picture) and a texture coordinate.
layout(location = 0) in vec2 aPosition;
layout(location = 1) in vec2 aUv;
uniform vec2 uCanvas;
out vec2 vUv;

void main()
{
    vUv = aUv;
    gl_Position = vec4(aPosition / uCanvas * 2.0 - 1.0, 0.0, 1.0);
}

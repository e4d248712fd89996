# Runs the VideoSsl command line on Windows, building it first when a source file is newer than the build.
#   $env:VIDEOSSL_TORCH_BACKEND = "cuda-windows"   # NVIDIA GPU (TorchSharp-cuda-windows); default "cpu"
$ErrorActionPreference = "Stop"
$root = Split-Path -Parent $PSScriptRoot
$backend = if ($env:VIDEOSSL_TORCH_BACKEND) { $env:VIDEOSSL_TORCH_BACKEND } else { "cpu" }
$project = Join-Path $root "src/CommandLine/VideoSsl.CommandLine.csproj"
$dll = Join-Path $root "src/CommandLine/bin/Release/net10.0/videossl.dll"
$stamp = Join-Path $root "src/CommandLine/bin/Release/net10.0/.torch-backend"

$needsBuild = -not (Test-Path $dll) -or -not (Test-Path $stamp) -or ((Get-Content $stamp) -ne $backend)
if (-not $needsBuild) {
    $built = (Get-Item $dll).LastWriteTimeUtc
    $needsBuild = [bool](Get-ChildItem -Recurse -File (Join-Path $root "src"), (Join-Path $root "build") -Include *.cs, *.csproj, *.props, *.targets |
        Where-Object { $_.LastWriteTimeUtc -gt $built } | Select-Object -First 1)
}
if ($needsBuild) {
    Write-Host "videossl: building (TorchBackend=$backend)..." -ForegroundColor DarkGray
    dotnet build $project -c Release -nologo -v quiet "-p:TorchBackend=$backend" | Out-Host
    if ($LASTEXITCODE -ne 0) { Write-Error "videossl: build failed"; exit 1 }
    Set-Content -Path $stamp -Value $backend
}
$env:DOTNET_NOLOGO = "1"
dotnet $dll @args
exit $LASTEXITCODE

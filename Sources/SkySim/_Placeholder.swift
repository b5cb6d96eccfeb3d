// SkySim

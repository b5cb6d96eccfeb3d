import CFITSIO
func _probeFITS() -> Float { var v: Float = 0; ffvers(&v); return v }

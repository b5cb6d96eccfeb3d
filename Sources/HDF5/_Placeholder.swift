import CHDF5
import CDeflate
func _probeHDF5() -> Int64 { Int64(photoz_H5P_DEFAULT()) + Int64(photoz_H5T_NATIVE_FLOAT()) }
func _probeDeflate() -> OpaquePointer? { libdeflate_alloc_compressor(4) }

import CDNNL
func _probeDNNL() -> UnsafePointer<dnnl_version_t>? { dnnl_version() }

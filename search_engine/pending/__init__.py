"""In-flight points: how architectures proposed but not yet measured condition the next proposal."""

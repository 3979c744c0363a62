"""HyT-NAS Studio's web side: a Django project that stores, schedules and shows searches."""

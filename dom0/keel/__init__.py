"""Keel's toolstack: manage domains on the Keel hypervisor.

Nothing is defined here on purpose: build/gen/keel/ (generated C headers) sits
on sys.path too and can make `keel` a namespace package, in which case this
file does not run. Import from the submodules (keel.version, keel.host, ...)."""

"""What the tests and `make demo` share beside the real control plane (testbed/): the Procore API
emulator, the demo ERP database, the operator process runner, and the demo itself.

The emulator serves real HTTP on loopback; nothing here is imported by the operator or the workers.
"""

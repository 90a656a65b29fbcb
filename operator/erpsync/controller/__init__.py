"""The operator: kopf wiring, the reconcile pass and the status it reports."""

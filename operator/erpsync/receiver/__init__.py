"""The webhook receiver, `erp-sync webhooks`: Procore's ERP Request deliveries start sync-now runs.

A layer beside the controller: it imports api, planning and the controller's client and sync-now pieces,
and only `erpsync.cli` imports it. docs/webhooks.md tells what it does and why.
"""

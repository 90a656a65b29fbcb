"""The ErpSyncSchedule API: models, ERP profiles, validation and CRD generation."""

"""Planning: the pure function from an ErpSyncSchedule to the CronJobs it needs. No I/O here."""

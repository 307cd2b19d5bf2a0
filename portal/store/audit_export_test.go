package store

// SetAuditBatchForTest makes VerifyAudit read n entries at a time; the
// returned function restores the default.
func SetAuditBatchForTest(n int) func() {
	old := auditBatch
	auditBatch = n
	return func() { auditBatch = old }
}

// SetAuditDisabledForTest turns the audit append off (the benchmark's
// baseline); the returned function turns it back on.
func SetAuditDisabledForTest() func() {
	auditDisabled = true
	return func() { auditDisabled = false }
}

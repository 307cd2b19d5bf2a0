package store

// SetAuditDisabledForTest turns the audit append off (the benchmark's
// baseline); the returned function turns it back on.
func SetAuditDisabledForTest() func() {
	auditDisabled = true
	return func() { auditDisabled = false }
}

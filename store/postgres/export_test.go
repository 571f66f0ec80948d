package postgres

// AuditMids is auditMids for the tests: the middle of each event's body as
// gpsoc_place takes it (what a test writes straight into the tables).
var AuditMids = auditMids

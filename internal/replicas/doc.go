// Package replicas tests and measures `gpsoc serve` replicas on one
// PostgreSQL database (issue 24): several API servers, each with its own
// connection pool, serving the same practices, as separate processes on
// separate machines would. Its tests and benchmarks run a throwaway
// cluster (internal/pgtest); the package itself holds nothing shipped.
package replicas

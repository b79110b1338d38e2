//go:build !race

package tju

// bulkMiB is the size of each TestBulkTransfer run without the race
// detector: the 100 MiB of issue 2. See bulk_test.go.
const bulkMiB = 100

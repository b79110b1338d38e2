//go:build race

package tju

// bulkMiB is the size of each TestBulkTransfer run under the race
// detector, which slows the stack about eightfold; the plain build moves
// 100 MiB. See bulk_test.go.
const bulkMiB = 16

//go:build race

package tcb

// raceBuild reports a build with the race detector, which slows the
// simulator about eightfold: the link tests then run shorter and the
// loss-rule comparison, which repeats two of them, is skipped.
const raceBuild = true

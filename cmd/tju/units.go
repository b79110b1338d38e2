package main

import "github.com/tjunet/tjunet/units"

// Sizes, rates and probabilities on the command line are read by package
// units (units.Size, units.Rate, units.Probability), and figures are
// printed for people by its formatters, in the one convention of every
// tju output (SI: 1 MB = 10^6 bytes). These are their names here.
var (
	formatBytes    = units.FormatBytes
	formatDuration = units.FormatDuration
)

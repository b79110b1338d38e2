package minitalk

import _ "embed"

// The seed's own test data, byte for byte.
var (
	// SeedBanner is the seed's ASCII-art banner (tabs and trailing blanks
	// kept, no final newline).
	//go:embed seed/banner.txt
	SeedBanner string
	// SeedLine is the seed's line of "asdfjkl;" repeated 64 times.
	//go:embed seed/asdfjkl.txt
	SeedLine string
)

package tju

import "testing"

// BenchmarkLoopbackAuth measures what segment authentication costs: the
// loopback transfer of BenchmarkLoopbackThroughput between two tjunet
// endpoints with the MAC (as they negotiate by default) and with the
// CRC-32C alone (as before authentication existed), in one binary, so the
// two run side by side under the same load:
//
//	go test -run '^$' -bench LoopbackAuth -benchtime 512x -count 5 ./tju
func BenchmarkLoopbackAuth(b *testing.B) {
	for _, mode := range []struct {
		name   string
		noAuth bool
	}{{"mac", false}, {"crc", true}} {
		b.Run(mode.name, func(b *testing.B) {
			loopbackThroughput(b, &Config{noAuth: mode.noAuth})
		})
	}
}

module github.com/tjunet/tjunet/bench

go 1.26.0

replace github.com/tjunet/tjunet => ../

require (
	github.com/quic-go/quic-go v0.65.0
	github.com/tjunet/tjunet v0.0.0-00010101000000-000000000000
	github.com/xtaci/kcp-go/v5 v5.6.18
)

require (
	github.com/klauspost/cpuid/v2 v2.2.6 // indirect
	github.com/klauspost/reedsolomon v1.12.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/templexxx/cpu v0.1.1 // indirect
	github.com/templexxx/xorsimd v0.4.3 // indirect
	github.com/tjfoc/gmsm v1.4.1 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

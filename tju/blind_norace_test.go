//go:build !race

package tju

// blindDefault is how many blind segments of each kind TestBlindInjection*
// send without the race detector; TJU_BLIND_COUNT=1000000 sends issue
// 11's million (about 10 s a kind).
const blindDefault = 200_000

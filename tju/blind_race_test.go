//go:build race

package tju

// blindDefault is how many blind segments of each kind TestBlindInjection*
// send under the race detector, which slows the stack about eightfold;
// TJU_BLIND_COUNT=1000000 sends the million.
const blindDefault = 5_000

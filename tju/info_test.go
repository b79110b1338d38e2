package tju

import (
	"reflect"
	"testing"

	"github.com/tjunet/tjunet/internal/tcb"
)

// Every counter and measure of the engine's Info reaches tju.Info: each
// scalar field of tcb.Info gets its own value, and each value must appear
// in the converted Info (the TLP count was once dropped on the way).
func TestInfoCarriesEveryEngineField(t *testing.T) {
	var in tcb.Info
	v := reflect.ValueOf(&in).Elem()
	want := map[int64]string{}
	for i := range v.NumField() {
		f, name, x := v.Field(i), v.Type().Field(i).Name, int64(1000+i)
		switch f.Kind() {
		case reflect.Int, reflect.Int64:
			f.SetInt(x)
		case reflect.Uint8, reflect.Uint64:
			if f.Kind() == reflect.Uint8 {
				x = int64(i + 1)
			}
			f.SetUint(uint64(x))
		case reflect.Float64:
			f.SetFloat(float64(x))
		case reflect.Bool:
			f.SetBool(true)
			continue
		case reflect.Struct:
			continue // a nested model (the controller's) is mapped as a whole, if at all
		default:
			t.Fatalf("tcb.Info.%s has kind %v: teach this test about it", name, f.Kind())
		}
		want[x] = name
	}
	out := reflect.ValueOf(infoFrom(in))
	got := map[int64]bool{}
	for i := range out.NumField() {
		switch f := out.Field(i); f.Kind() {
		case reflect.Int, reflect.Int64:
			got[f.Int()] = true
		case reflect.Uint8, reflect.Uint64:
			got[int64(f.Uint())] = true
		case reflect.Float64:
			got[int64(f.Float())] = true
		}
	}
	for x, name := range want {
		if !got[x] {
			t.Errorf("tcb.Info.%s does not reach tju.Info", name)
		}
	}
	if !infoFrom(in).Extensions {
		t.Error("Extensions does not reach tju.Info")
	}
}

package diagnose

import "reflect"

// Redact replaces every free-text string of the report (titles, details, hints, evidence lines
// and sources, names, paths) with fn(s). Typed vocabulary (Kind, Severity) is left alone. Pass
// (*redact.Redactor).String before rendering so secrets never reach any output format.
func (r *Report) Redact(fn func(string) string) {
	if r == nil || fn == nil {
		return
	}
	redactValue(reflect.ValueOf(r).Elem(), fn)
}

var plainString = reflect.TypeOf("")

func redactValue(v reflect.Value, fn func(string) string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			redactValue(v.Elem(), fn)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				redactValue(v.Field(i), fn)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			redactValue(v.Index(i), fn)
		}
	case reflect.String:
		if v.Type() == plainString && v.CanSet() {
			v.SetString(fn(v.String()))
		}
	}
}

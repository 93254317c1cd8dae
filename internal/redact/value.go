package redact

import "reflect"

// Value redacts, in place, every string reachable from ptr (a pointer to a struct, slice or
// map): map[string]string entries whose keys look secret (labels, annotations, env maps) become
// tokens, so do the Value of {Name, Value} structs (env vars, HTTP headers) with a secret-looking
// Name; Command and Args string slices are redacted as command lines (Args); every other string
// goes through String. Use it for structured data written as JSON
// (runtime state, log records) so the JSON stays valid whatever the patterns replace.
func (r *Redactor) Value(ptr any) {
	if r.s.disabled || ptr == nil {
		return
	}
	r.value(reflect.ValueOf(ptr))
}

var (
	stringType  = reflect.TypeOf("")
	stringsType = reflect.TypeOf([]string(nil))
)

// pair redacts the Value of a struct with string fields Name and Value (corev1.EnvVar,
// corev1.HTTPHeader…) when the name looks secret.
func (r *Redactor) pair(v reflect.Value) {
	name, value := v.FieldByName("Name"), v.FieldByName("Value")
	if !name.IsValid() || !value.IsValid() || name.Type() != stringType || value.Type() != stringType || !value.CanSet() {
		return
	}
	if secretValue(name.String(), value.String()) {
		value.SetString(r.redact(KindEnv, value.String()))
	}
}

func (r *Redactor) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			r.value(v.Elem())
		}
	case reflect.Struct:
		r.pair(v)
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if (f.Name == "Command" || f.Name == "Args") && f.Type == stringsType && v.Field(i).CanSet() {
				// A command line: --password x is two words (corev1.Container and the like).
				v.Field(i).Set(reflect.ValueOf(r.Args(v.Field(i).Interface().([]string))))
				continue
			}
			r.value(v.Field(i))
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			r.value(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() || v.Type().Key() != stringType {
			return
		}
		iter := v.MapRange()
		type kv struct{ k, v reflect.Value }
		var updates []kv
		for iter.Next() {
			k, val := iter.Key(), iter.Value()
			if val.Kind() == reflect.String && val.Type() == stringType {
				s := val.String()
				nv := r.String(s)
				if secretValue(k.String(), s) {
					nv = r.redact(KindField, s)
				}
				if nv != s {
					updates = append(updates, kv{k, reflect.ValueOf(nv)})
				}
				continue
			}
			// Map values are not addressable: redact a copy and store it back.
			cp := reflect.New(val.Type()).Elem()
			cp.Set(val)
			r.value(cp)
			updates = append(updates, kv{k, cp})
		}
		for _, u := range updates {
			v.SetMapIndex(u.k, u.v)
		}
	case reflect.String:
		if v.Type() == stringType && v.CanSet() {
			v.SetString(r.String(v.String()))
		}
	}
}

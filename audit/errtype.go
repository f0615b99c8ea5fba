package audit

import "reflect"

// typeName is the dynamic type of err, e.g. "*credentials.TokenError".
func typeName(err error) string { return reflect.TypeOf(err).String() }

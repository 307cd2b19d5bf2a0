package config

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
)

const envPrefix = "SCEAU_"

// applyEnv overrides settings from SCEAU_SECTION_KEY variables. The name is
// the TOML path upper-cased with dots as underscores, for example
// SCEAU_SERVER_PORTAL_LISTEN or SCEAU_MAIL_SMTP_HOST. A secret is given by
// value as SCEAU_DATABASE_URL or by file as SCEAU_DATABASE_URL_FILE.
// Lists (trust domains) cannot be overridden this way.
func applyEnv(c *Config, environ []string) Problems {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, envPrefix) {
			env[k] = v
		}
	}
	var p Problems
	walkSettings(reflect.ValueOf(c).Elem(), "", func(path string, v reflect.Value) {
		name := envName(path)
		raw, ok := env[name]
		if !ok {
			return
		}
		if err := setFromString(v, raw); err != nil {
			p = append(p, fmt.Sprintf("%s: %v", name, err))
		}
	})
	return p
}

// envName turns "mail.smtp.host" into SCEAU_MAIL_SMTP_HOST.
func envName(path string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

var (
	secretType   = reflect.TypeOf(Secret{})
	durationType = reflect.TypeOf(Duration{})
)

// walkSettings calls fn for every scalar setting with its TOML path.
func walkSettings(v reflect.Value, prefix string, fn func(path string, v reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("toml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		fv := v.Field(i)
		switch {
		case f.Type == secretType || f.Type == durationType:
			fn(path, fv)
		case fv.Kind() == reflect.Struct:
			walkSettings(fv, path, fn)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			// lists of tables are file-only
		default:
			fn(path, fv)
		}
	}
}

func setFromString(v reflect.Value, raw string) error {
	switch v.Type() {
	case secretType:
		// the path ends in _file: SCEAU_X_FILE names a file; handled in readSecrets
		v.Addr().Interface().(*Secret).File = raw
		return nil
	case durationType:
		return v.Addr().Interface().(*Duration).UnmarshalText([]byte(raw))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		v.SetInt(n)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from the environment")
		}
		var items []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// readSecrets fills every Secret from its file, or from the environment
// variable named like the setting without _file (SCEAU_MAIL_SMTP_PASSWORD).
func (c *Config) readSecrets(environ []string) Problems {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	var p Problems
	walkSettings(reflect.ValueOf(c).Elem(), "", func(path string, v reflect.Value) {
		if v.Type() != secretType {
			return
		}
		s := v.Addr().Interface().(*Secret)
		byValue := envName(strings.TrimSuffix(path, "_file"))
		if val, ok := env[byValue]; ok && val != "" {
			s.value = val
			return
		}
		if s.File == "" {
			return
		}
		b, err := os.ReadFile(s.File)
		if err != nil {
			p = append(p, fmt.Sprintf("%s: cannot read secret file %s: %v", path, s.File, unwrapPathError(err)))
			return
		}
		s.value = strings.TrimRight(string(b), "\r\n")
		if s.value == "" {
			p = append(p, fmt.Sprintf("%s: secret file %s is empty", path, s.File))
		}
	})
	return p
}

package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"go.step.sm/crypto/jose"
)

// tokenMinter signs Sceau's one-time tokens (compact JWS, ES256) with the
// provisioner key. It builds the same token go-jose's builder would (same
// header, same claims) but without its generic path, which marshals the
// claims to JSON, back to a map, merges the maps and marshals them again:
// the header is encoded once, the claims once, and the signature is made
// directly with the P-256 key. step-ca then verifies every token exactly as
// before (Authorize: signature, issuer, audience, times, one-time use).
type tokenMinter struct {
	key    *ecdsa.PrivateKey
	header string // base64url of the protected header, with its trailing '.'
}

func newTokenMinter(jwk *jose.JSONWebKey) (*tokenMinter, error) {
	key, ok := jwk.Key.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("ca: the provisioner key is a %T, not an ECDSA P-256 key", jwk.Key)
	}
	h, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{"ES256", jwk.KeyID, "JWT"})
	if err != nil {
		return nil, err
	}
	return &tokenMinter{key: key, header: base64.RawURLEncoding.EncodeToString(h) + "."}, nil
}

// registered are the claims the minter writes itself; extra claims may not
// override them.
type registered struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	Expiry    int64  `json:"exp"`
	NotBefore int64  `json:"nbf"`
	IssuedAt  int64  `json:"iat"`
	ID        string `json:"jti"`
}

var reservedClaims = map[string]bool{"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true}

// mint returns a signed token with a fresh random id (jti).
func (m *tokenMinter) mint(issuer, audience, subject string, now time.Time, lifetime time.Duration, extra map[string]any) (tok, jti string, err error) {
	var id [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", "", err
	}
	jti = hex.EncodeToString(id[:])
	payload, err := json.Marshal(registered{Issuer: issuer, Subject: subject, Audience: audience,
		Expiry: now.Add(lifetime).Unix(), NotBefore: now.Unix(), IssuedAt: now.Unix(), ID: jti})
	if err != nil {
		return "", "", err
	}
	if len(extra) > 0 {
		for k := range extra {
			if reservedClaims[k] {
				return "", "", fmt.Errorf("ca: token claim %q is reserved", k)
			}
		}
		more, err := json.Marshal(extra)
		if err != nil {
			return "", "", err
		}
		// {"iss":…,"jti":"…"} + {"name":…} → {"iss":…,"jti":"…","name":…}
		payload = append(append(payload[:len(payload)-1], ','), more[1:]...)
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(m.header)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(64))
	buf = append(buf, m.header...)
	buf = enc.AppendEncode(buf, payload)
	digest := sha256.Sum256(buf)
	r, s, err := ecdsa.Sign(rand.Reader, m.key, digest[:])
	if err != nil {
		return "", "", err
	}
	var sig [64]byte // JWS ES256: R || S, 32 bytes each (RFC 7518 §3.4)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig[:])
	return string(buf), jti, nil
}

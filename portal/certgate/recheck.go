package certgate

// Recheck re-applies to an identity admitted earlier the checks that can
// change over time, without verifying signatures again: every certificate
// of the verified chain is still within its validity, and the domain's
// revocation source still says not revoked. A cache in front of Check uses
// it so that expiry and revocation are honoured on every request.
func (g *Gate) Recheck(id *Identity) *Refusal {
	var d *domain
	for i := range g.domains {
		if g.domains[i].name == id.Domain {
			d = &g.domains[i]
			break
		}
	}
	if d == nil || len(id.Chain) == 0 {
		return &Refusal{Kind: RefusalUnknownCA, Detail: "identity of an unknown domain"}
	}
	now := g.now()
	for _, c := range id.Chain {
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return g.timeRefusal(d, id.Leaf, c, now)
		}
	}
	if _, refusal := g.admit(d, id.Leaf, id.Chain); refusal != nil {
		return refusal
	}
	return nil
}

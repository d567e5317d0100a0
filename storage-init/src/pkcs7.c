#define _GNU_SOURCE /* memmem */
#include "pkcs7.h"
#include "util.h"

#include <bearssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* DER: one-byte tags, definite minimal lengths, nothing left over. Every
 * error names the input ("signature"/"certificate") and the byte offset. */
struct der {
	const unsigned char *b;
	const char *name;
	char *err;
	size_t errlen;
};

struct tlv {
	size_t off;   /* of the tag */
	size_t start; /* of the value */
	size_t end;   /* one past the value */
	unsigned char tag;
};

#define SEQ 0x30
#define SET 0x31
#define INT 0x02
#define OCTETS 0x04
#define OID 0x06
#define NUL 0x05
#define CTX0 0xa0 /* [0] constructed */
#define CTX1 0xa1
#define CTX3 0xa3
#define CTX0_PRIM 0x80 /* [0] IMPLICIT OCTET STRING: subjectKeyIdentifier */

__attribute__((format(printf, 3, 4)))
static int der_fail(const struct der *d, size_t off, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	snprintf(d->err, d->errlen, "%s offset %zu: %s", d->name, off, why);
	return -1;
}

/* The TLV at *pos (before end), of tag `tag` (0: any); *pos moves past it. */
static int der_get(const struct der *d, size_t *pos, size_t end, unsigned char tag, const char *what,
		   struct tlv *t)
{
	size_t p = *pos, len, n, i;

	if (p >= end || end - p < 2)
		return der_fail(d, p, "expected %s, got the end of the data", what);
	t->off = p;
	t->tag = d->b[p];
	if ((t->tag & 0x1f) == 0x1f)
		return der_fail(d, p, "%s: multi-byte tags are not used here", what);
	if (tag && t->tag != tag)
		return der_fail(d, p, "expected %s (tag 0x%02x), got tag 0x%02x", what, tag, t->tag);
	len = d->b[p + 1];
	p += 2;
	if (len & 0x80) {
		n = len & 0x7f;
		if (n == 0 || n > 3)
			return der_fail(d, t->off + 1, "%s: %s length", what, n ? "over-long" : "indefinite (BER, not DER)");
		if (end - p < n)
			return der_fail(d, t->off + 1, "%s: truncated length", what);
		for (len = 0, i = 0; i < n; i++)
			len = (len << 8) | d->b[p + i];
		if (len < 0x80 || len >> (8 * (n - 1)) == 0)
			return der_fail(d, t->off + 1, "%s: length not in its shortest form (not DER)", what);
		p += n;
	}
	if (len > end - p)
		return der_fail(d, t->off, "%s: %zu bytes of value, only %zu left", what, len, end - p);
	t->start = p;
	t->end = p + len;
	*pos = t->end;
	return 0;
}

static int der_done(const struct der *d, size_t pos, size_t end, const char *what)
{
	return pos == end ? 0 : der_fail(d, pos, "%zu unexpected bytes after %s", end - pos, what);
}

static int der_small_int(const struct der *d, const struct tlv *t, const char *what, int *v)
{
	if (t->end - t->start != 1 || d->b[t->start] > 0x7f)
		return der_fail(d, t->off, "%s: expected a small INTEGER", what);
	*v = d->b[t->start];
	return 0;
}

static int oid_is(const struct der *d, const struct tlv *t, const unsigned char *oid, size_t n)
{
	return t->end - t->start == n && memcmp(d->b + t->start, oid, n) == 0;
}

#define OID_IS(d, t, o) oid_is(d, t, o, sizeof o)

static const unsigned char oid_signed_data[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02 };
static const unsigned char oid_data[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01 };
static const unsigned char oid_content_type[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03 };
static const unsigned char oid_message_digest[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04 };
static const unsigned char oid_rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const unsigned char oid_ec_key[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const unsigned char oid_ski[] = { 0x55, 0x1d, 0x0e };

/* The digests a signer may use, and the signature OIDs that name them. */
struct hash_alg {
	const char *name;
	unsigned char oid[9];             /* 2.16.840.1.101.3.4.2.n */
	unsigned char rsa_oid[9];         /* sha*WithRSAEncryption */
	unsigned char ecdsa_oid[8];       /* ecdsa-with-SHA* */
	const unsigned char *br_oid;      /* BearSSL's PKCS#1 DigestInfo OID */
	const br_hash_class *cls;
	size_t len;
};

static const struct hash_alg hashes[] = {
	{ "sha256", { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 },
	  { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b }, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 },
	  BR_HASH_OID_SHA256, &br_sha256_vtable, 32 },
	{ "sha384", { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02 },
	  { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c }, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 },
	  BR_HASH_OID_SHA384, &br_sha384_vtable, 48 },
	{ "sha512", { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03 },
	  { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d }, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04 },
	  BR_HASH_OID_SHA512, &br_sha512_vtable, 64 },
};

/* AlgorithmIdentifier ::= SEQUENCE { OID, NULL OPTIONAL }: its OID. */
static int der_alg(const struct der *d, size_t *pos, size_t end, const char *what, struct tlv *oid)
{
	struct tlv seq, par;
	size_t p;

	if (der_get(d, pos, end, SEQ, what, &seq) < 0)
		return -1;
	p = seq.start;
	if (der_get(d, &p, seq.end, OID, what, oid) < 0)
		return -1;
	if (p < seq.end) {
		if (der_get(d, &p, seq.end, NUL, "NULL parameters", &par) < 0)
			return -1;
		if (par.end != par.start)
			return der_fail(d, par.off, "%s: non-empty NULL", what);
	}
	return der_done(d, p, seq.end, what);
}

/* What the signer is matched against, from the pinned certificate. */
struct cert_id {
	size_t issuer_off, issuer_len; /* the issuer Name TLV */
	size_t serial_off, serial_len; /* the serial INTEGER's value */
	size_t ski_off, ski_len;       /* subjectKeyIdentifier, 0 length when absent */
};

/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
 *   serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo,
 *   [1] [2] OPTIONAL, [3] extensions OPTIONAL }, signatureAlgorithm, signature } */
static int cert_parse(const struct der *d, size_t len, struct cert_id *id)
{
	struct tlv cert, tbs, t, ext, e, v;
	size_t p = 0, q, r;

	memset(id, 0, sizeof *id);
	if (der_get(d, &p, len, SEQ, "Certificate", &cert) < 0 || der_done(d, p, len, "the Certificate") < 0)
		return -1;
	p = cert.start;
	if (der_get(d, &p, cert.end, SEQ, "TBSCertificate", &tbs) < 0)
		return -1;
	q = tbs.start;
	if (q < tbs.end && d->b[q] == CTX0 && der_get(d, &q, tbs.end, CTX0, "version", &t) < 0)
		return -1;
	if (der_get(d, &q, tbs.end, INT, "serialNumber", &t) < 0)
		return -1;
	id->serial_off = t.start;
	id->serial_len = t.end - t.start;
	if (der_get(d, &q, tbs.end, SEQ, "signature algorithm", &t) < 0 ||
	    der_get(d, &q, tbs.end, SEQ, "issuer", &t) < 0)
		return -1;
	id->issuer_off = t.off;
	id->issuer_len = t.end - t.off;
	if (der_get(d, &q, tbs.end, SEQ, "validity", &t) < 0 || der_get(d, &q, tbs.end, SEQ, "subject", &t) < 0 ||
	    der_get(d, &q, tbs.end, SEQ, "subjectPublicKeyInfo", &t) < 0)
		return -1;
	while (q < tbs.end) {
		if (der_get(d, &q, tbs.end, 0, "TBSCertificate field", &ext) < 0)
			return -1;
		if (ext.tag != CTX3)
			continue; /* issuerUniqueID, subjectUniqueID */
		r = ext.start;
		if (der_get(d, &r, ext.end, SEQ, "extensions", &t) < 0 || der_done(d, r, ext.end, "extensions") < 0)
			return -1;
		for (r = t.start; r < t.end;) {
			size_t s;

			if (der_get(d, &r, t.end, SEQ, "extension", &e) < 0)
				return -1;
			s = e.start;
			if (der_get(d, &s, e.end, OID, "extension id", &v) < 0)
				return -1;
			if (!OID_IS(d, &v, oid_ski))
				continue;
			if (s < e.end && d->b[s] == 0x01 && der_get(d, &s, e.end, 0x01, "critical", &v) < 0)
				return -1;
			if (der_get(d, &s, e.end, OCTETS, "extnValue", &v) < 0)
				return -1;
			s = v.start;
			if (der_get(d, &s, v.end, OCTETS, "subjectKeyIdentifier", &v) < 0)
				return -1;
			id->ski_off = v.start;
			id->ski_len = v.end - v.start;
		}
	}
	return 0;
}

static void digest(const br_hash_class *cls, const unsigned char *a, size_t alen, const unsigned char *b,
		   size_t blen, unsigned char *out)
{
	br_hash_compat_context ctx;

	cls->init(&ctx.vtable);
	cls->update(&ctx.vtable, a, alen);
	cls->update(&ctx.vtable, b, blen);
	cls->out(&ctx.vtable, out);
}

/* The signed attributes ([0] IMPLICIT SET OF Attribute): contentType = data
 * and messageDigest = the content's digest, each once. */
static int check_attrs(const struct der *d, const struct tlv *attrs, const unsigned char *md, size_t md_len)
{
	struct tlv a, type, vals, v;
	size_t p = attrs->start, q, r;
	int have_type = 0, have_md = 0;

	while (p < attrs->end) {
		if (der_get(d, &p, attrs->end, SEQ, "Attribute", &a) < 0)
			return -1;
		q = a.start;
		if (der_get(d, &q, a.end, OID, "attribute type", &type) < 0 ||
		    der_get(d, &q, a.end, SET, "attribute values", &vals) < 0 || der_done(d, q, a.end, "an Attribute") < 0)
			return -1;
		r = vals.start;
		if (OID_IS(d, &type, oid_content_type)) {
			if (have_type++ || der_get(d, &r, vals.end, OID, "contentType", &v) < 0)
				return have_type > 1 ? der_fail(d, a.off, "contentType given twice") : -1;
			if (!OID_IS(d, &v, oid_data))
				return der_fail(d, v.off, "contentType: expected id-data");
		} else if (OID_IS(d, &type, oid_message_digest)) {
			if (have_md++ || der_get(d, &r, vals.end, OCTETS, "messageDigest", &v) < 0)
				return have_md > 1 ? der_fail(d, a.off, "messageDigest given twice") : -1;
			if (v.end - v.start != md_len || memcmp(d->b + v.start, md, md_len) != 0)
				return der_fail(d, v.off, "messageDigest does not match the content's digest");
		} else {
			continue; /* signingTime, smimeCapabilities...: covered by the signature */
		}
		if (der_done(d, r, vals.end, "the attribute's one value") < 0)
			return -1;
	}
	if (!have_type || !have_md)
		return der_fail(d, attrs->off, "signed attributes without %s", have_md ? "contentType" : "messageDigest");
	return 0;
}

int pkcs7_verify_detached(const unsigned char *sig, size_t sig_len, const unsigned char *content,
			  size_t content_len, const unsigned char *cert, size_t cert_len, char *err,
			  size_t errlen)
{
	static unsigned char pem[PKCS7_CERT_MAX];
	static br_x509_decoder_context xd;
	struct der s = { sig, "signature", err, errlen }, c = { cert, "certificate", err, errlen };
	struct tlv ci, t, sd, algs, si_set, si, sid, dalg, attrs, salg, sval;
	const struct hash_alg *h = NULL;
	const br_x509_pkey *pk;
	unsigned char md[64], tbs_md[64], rec[64];
	struct cert_id id;
	size_t p, q, i;
	int version = 0, si_version = 0, use_ski, listed = 0, ok;

	/* the pinned certificate: PEM is decoded to DER first */
	if (cert_len > PKCS7_CERT_MAX)
		return der_fail(&c, 0, "%zu bytes, more than %d", cert_len, PKCS7_CERT_MAX);
	if (cert_len >= 11 && memcmp(cert, "-----BEGIN ", 11) == 0) {
		static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
		const char *text = (const char *)cert, *b, *e;
		long n;

		b = memmem(text, cert_len, begin, sizeof begin - 1);
		e = memmem(text, cert_len, end, sizeof end - 1);
		if (b != text || !e)
			return der_fail(&c, 0, "PEM: expected one CERTIFICATE block");
		b += sizeof begin - 1;
		n = e < b ? -1 : base64_decode(b, (size_t)(e - b), pem, sizeof pem, 1);
		if (n < 0)
			return der_fail(&c, (size_t)(b - text), "PEM: not base64");
		c.b = pem;
		cert = pem;
		cert_len = (size_t)n;
	}
	if (cert_parse(&c, cert_len, &id) < 0)
		return -1;
	br_x509_decoder_init(&xd, NULL, NULL);
	br_x509_decoder_push(&xd, cert, cert_len);
	pk = br_x509_decoder_get_pkey(&xd);
	if (!pk || br_x509_decoder_last_error(&xd)) {
		snprintf(err, errlen, "certificate: BearSSL cannot decode its public key (error %d)",
			 br_x509_decoder_last_error(&xd));
		return -1;
	}

	/* ContentInfo ::= SEQUENCE { signedData OID, [0] EXPLICIT SignedData } */
	if (sig_len > PKCS7_SIG_MAX)
		return der_fail(&s, 0, "%zu bytes, more than %d", sig_len, PKCS7_SIG_MAX);
	p = 0;
	if (der_get(&s, &p, sig_len, SEQ, "ContentInfo", &ci) < 0 || der_done(&s, p, sig_len, "the ContentInfo") < 0)
		return -1;
	p = ci.start;
	if (der_get(&s, &p, ci.end, OID, "contentType", &t) < 0)
		return -1;
	if (!OID_IS(&s, &t, oid_signed_data))
		return der_fail(&s, t.off, "expected contentType signedData");
	if (der_get(&s, &p, ci.end, CTX0, "[0] content", &t) < 0 || der_done(&s, p, ci.end, "the content") < 0)
		return -1;
	q = t.start;
	if (der_get(&s, &q, t.end, SEQ, "SignedData", &sd) < 0 || der_done(&s, q, t.end, "the SignedData") < 0)
		return -1;

	/* SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo,
	 *   [0] certificates OPTIONAL, [1] crls OPTIONAL, signerInfos SET } */
	p = sd.start;
	if (der_get(&s, &p, sd.end, INT, "SignedData version", &t) < 0 ||
	    der_small_int(&s, &t, "SignedData version", &version) < 0)
		return -1;
	if (version != 1 && version != 3)
		return der_fail(&s, t.off, "SignedData version %d (expected 1 or 3)", version);
	if (der_get(&s, &p, sd.end, SET, "digestAlgorithms", &algs) < 0)
		return -1;
	if (der_get(&s, &p, sd.end, SEQ, "encapContentInfo", &t) < 0)
		return -1;
	q = t.start;
	{
		struct tlv type;

		if (der_get(&s, &q, t.end, OID, "eContentType", &type) < 0)
			return -1;
		if (!OID_IS(&s, &type, oid_data))
			return der_fail(&s, type.off, "expected eContentType id-data");
		if (q != t.end)
			return der_fail(&s, q, "expected a detached signature (the message carries content)");
	}
	if (p < sd.end && s.b[p] == CTX0 && der_get(&s, &p, sd.end, CTX0, "certificates", &t) < 0)
		return -1; /* embedded certificates are ignored: the pinned one decides */
	if (p < sd.end && s.b[p] == CTX1 && der_get(&s, &p, sd.end, CTX1, "crls", &t) < 0)
		return -1;
	if (der_get(&s, &p, sd.end, SET, "signerInfos", &si_set) < 0 || der_done(&s, p, sd.end, "signerInfos") < 0)
		return -1;
	q = si_set.start;
	if (der_get(&s, &q, si_set.end, SEQ, "SignerInfo", &si) < 0)
		return -1;
	if (q != si_set.end)
		return der_fail(&s, q, "expected exactly one SignerInfo");

	/* SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, [0] signedAttrs OPTIONAL,
	 *   signatureAlgorithm, signature OCTET STRING, [1] unsignedAttrs OPTIONAL } */
	p = si.start;
	if (der_get(&s, &p, si.end, INT, "SignerInfo version", &t) < 0 ||
	    der_small_int(&s, &t, "SignerInfo version", &si_version) < 0)
		return -1;
	if (der_get(&s, &p, si.end, 0, "signer identifier", &sid) < 0)
		return -1;
	use_ski = sid.tag == CTX0_PRIM;
	if ((si_version == 1 && sid.tag != SEQ) || (si_version == 3 && !use_ski) || (si_version != 1 && si_version != 3))
		return der_fail(&s, t.off, "SignerInfo version %d with signer identifier tag 0x%02x (expected 1 with issuerAndSerialNumber or 3 with subjectKeyIdentifier)",
			    si_version, sid.tag);
	if (der_alg(&s, &p, si.end, "digestAlgorithm", &dalg) < 0)
		return -1;
	for (i = 0; i < sizeof hashes / sizeof hashes[0]; i++)
		if (oid_is(&s, &dalg, hashes[i].oid, sizeof hashes[i].oid))
			h = &hashes[i];
	if (!h)
		return der_fail(&s, dalg.off, "unsupported digest algorithm (expected sha256, sha384 or sha512)");
	/* the signer's digest is one of digestAlgorithms */
	for (q = algs.start; q < algs.end;) {
		struct tlv o;

		if (der_alg(&s, &q, algs.end, "digestAlgorithms entry", &o) < 0)
			return -1;
		listed |= oid_is(&s, &o, h->oid, sizeof h->oid);
	}
	if (!listed)
		return der_fail(&s, algs.off, "the signer's %s is not listed in digestAlgorithms", h->name);
	attrs.tag = 0;
	if (p < si.end && s.b[p] == CTX0 && der_get(&s, &p, si.end, CTX0, "signedAttrs", &attrs) < 0)
		return -1;
	if (der_alg(&s, &p, si.end, "signatureAlgorithm", &salg) < 0 ||
	    der_get(&s, &p, si.end, OCTETS, "signature", &sval) < 0)
		return -1;
	if (p < si.end)
		return der_fail(&s, p, "unsigned attributes or trailing fields are not supported");

	/* the signer is the pinned certificate */
	if (use_ski) {
		if (!id.ski_len)
			return der_fail(&s, sid.off, "the signer is named by subjectKeyIdentifier, the certificate has none");
		if (sid.end - sid.start != id.ski_len || memcmp(sig + sid.start, cert + id.ski_off, id.ski_len))
			return der_fail(&s, sid.off, "the signer (subjectKeyIdentifier) is not the pinned certificate");
	} else {
		struct tlv issuer, serial;

		q = sid.start;
		if (der_get(&s, &q, sid.end, SEQ, "issuer", &issuer) < 0 ||
		    der_get(&s, &q, sid.end, INT, "serialNumber", &serial) < 0 ||
		    der_done(&s, q, sid.end, "issuerAndSerialNumber") < 0)
			return -1;
		if (issuer.end - issuer.off != id.issuer_len || memcmp(sig + issuer.off, cert + id.issuer_off, id.issuer_len) ||
		    serial.end - serial.start != id.serial_len || memcmp(sig + serial.start, cert + id.serial_off, id.serial_len))
			return der_fail(&s, sid.off, "the signer (issuer and serial number) is not the pinned certificate");
	}

	/* what the signature covers: the content, or the signed attributes as a SET */
	digest(h->cls, content, content_len, NULL, 0, md);
	if (attrs.tag) {
		static const unsigned char set_tag = SET;

		if (check_attrs(&s, &attrs, md, h->len) < 0)
			return -1;
		digest(h->cls, &set_tag, 1, sig + attrs.off + 1, attrs.end - attrs.off - 1, tbs_md);
	} else {
		memcpy(tbs_md, md, h->len);
	}

	switch (pk->key_type) {
	case BR_KEYTYPE_RSA:
		if (!OID_IS(&s, &salg, oid_rsa) && !oid_is(&s, &salg, h->rsa_oid, sizeof h->rsa_oid))
			return der_fail(&s, salg.off, "signature algorithm does not fit an RSA key with %s", h->name);
		ok = br_rsa_i31_pkcs1_vrfy(sig + sval.start, sval.end - sval.start, h->br_oid, h->len,
					   &pk->key.rsa, rec) == 1 && memcmp(rec, tbs_md, h->len) == 0;
		break;
	case BR_KEYTYPE_EC: {
		/* the generic prime-curve code for P-256 too: one verification per boot, and the
		 * P-256 specific code (ec_p256_m31) would add 8 KiB */
		const br_ec_impl *ec = &br_ec_prime_i31;

		if (!OID_IS(&s, &salg, oid_ec_key) && !oid_is(&s, &salg, h->ecdsa_oid, sizeof h->ecdsa_oid))
			return der_fail(&s, salg.off, "signature algorithm does not fit an EC key with %s", h->name);
		if (!(ec->supported_curves >> pk->key.ec.curve & 1)) {
			snprintf(err, errlen, "certificate: EC curve %d is not supported (P-256, P-384, P-521 are)",
				 pk->key.ec.curve);
			return -1;
		}
		ok = br_ecdsa_i31_vrfy_asn1(ec, tbs_md, h->len, &pk->key.ec, sig + sval.start,
					    sval.end - sval.start) == 1;
		break;
	}
	default:
		snprintf(err, errlen, "certificate: unsupported public key type");
		return -1;
	}
	if (!ok) {
		snprintf(err, errlen, "signature: does not verify against the pinned certificate (%s)", h->name);
		return -1;
	}
	return 0;
}

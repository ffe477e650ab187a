//! Service-account tokens: decode the JWT header and claims, verify RS256 with a
//! JWKS key. The token is a bearer credential: [`SecretToken`] cannot be printed,
//! and [`Jwt`] keeps no signature in its `Debug` output.

use base64::Engine;
use serde::{Deserialize, Serialize};

/// A bearer token; `Debug`/`Display` never show it.
pub struct SecretToken(String);

impl SecretToken {
    /// Wraps a token.
    pub fn new(token: String) -> SecretToken {
        SecretToken(token)
    }
    /// The token, for the one call that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretToken(<redacted>)")
    }
}

/// JWT header fields that matter.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Header {
    /// Algorithm (`RS256` on EKS).
    pub alg: String,
    /// Key id.
    pub kid: Option<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => vec![],
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}

/// Claims that matter.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Claims {
    /// Issuer.
    pub iss: Option<String>,
    /// Subject.
    pub sub: Option<String>,
    /// Audiences (string or array in the token).
    #[serde(default, deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Expiry (Unix seconds).
    pub exp: Option<i64>,
    /// Issued at.
    pub iat: Option<i64>,
}

/// A decoded token.
#[derive(Clone)]
pub struct Jwt {
    /// Header.
    pub header: Header,
    /// Claims.
    pub claims: Claims,
    signing_input: String,
    signature: Vec<u8>,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// Why a token cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three dot-separated parts.
    #[error("the token is not a JWT (header.claims.signature)")]
    Shape,
    /// A part is not base64url.
    #[error("the token's {0} is not base64url")]
    Base64(&'static str),
    /// Header or claims are not the expected JSON.
    #[error("the token's {0} is not valid JSON: {1}")]
    Json(&'static str, String),
}

fn b64(s: &str) -> Result<Vec<u8>, ()> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| ())
}

/// Decodes a JWT (no verification).
pub fn decode(token: &str) -> Result<Jwt, JwtError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, c, s] = parts.as_slice() else {
        return Err(JwtError::Shape);
    };
    let header: Header = serde_json::from_slice(&b64(h).map_err(|_| JwtError::Base64("header"))?)
        .map_err(|e| JwtError::Json("header", e.to_string()))?;
    let claims: Claims = serde_json::from_slice(&b64(c).map_err(|_| JwtError::Base64("claims"))?)
        .map_err(|e| JwtError::Json("claims", e.to_string()))?;
    let signature = b64(s).map_err(|_| JwtError::Base64("signature"))?;
    Ok(Jwt {
        header,
        claims,
        signing_input: format!("{h}.{c}"),
        signature,
    })
}

/// One JWKS key.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    /// Key id.
    pub kid: Option<String>,
    /// Key type.
    pub kty: String,
    /// RSA modulus (base64url).
    pub n: Option<String>,
    /// RSA exponent (base64url).
    pub e: Option<String>,
}

/// A JWKS document.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwks {
    /// Keys.
    pub keys: Vec<Jwk>,
}

/// How the signature check came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signature {
    /// Verified with the JWKS key named by `kid`.
    Valid,
    /// The JWKS has no key with the token's `kid`.
    UnknownKid,
    /// The key exists but the signature does not verify.
    Invalid,
    /// Not RS256 or not an RSA key.
    Unsupported,
}

/// Verifies an RS256 token against the JWKS key its `kid` names.
pub fn verify(jwt: &Jwt, jwks: &Jwks) -> Signature {
    if jwt.header.alg != "RS256" {
        return Signature::Unsupported;
    }
    let Some(key) = jwks
        .keys
        .iter()
        .find(|k| k.kid.is_some() && k.kid == jwt.header.kid)
    else {
        return Signature::UnknownKid;
    };
    let (Some(n), Some(e)) = (&key.n, &key.e) else {
        return Signature::Unsupported;
    };
    if key.kty != "RSA" {
        return Signature::Unsupported;
    }
    let (Ok(n), Ok(e)) = (b64(n), b64(e)) else {
        return Signature::Invalid;
    };
    let public = ring::signature::RsaPublicKeyComponents { n: &n, e: &e };
    match public.verify(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        jwt.signing_input.as_bytes(),
        &jwt.signature,
    ) {
        Ok(()) => Signature::Valid,
        Err(_) => Signature::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
    }

    #[test]
    fn decodes_header_and_claims_with_string_or_array_aud() {
        let t = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"RS256","kid":"k1"}"#),
            enc(
                r#"{"iss":"https://i","sub":"system:serviceaccount:a:b","aud":["sts.amazonaws.com"],"exp":10}"#
            ),
            enc("sig")
        );
        let j = decode(&t).unwrap();
        assert_eq!(j.header.kid.as_deref(), Some("k1"));
        assert_eq!(j.claims.aud, vec!["sts.amazonaws.com"]);
        let t2 = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"RS256"}"#),
            enc(r#"{"aud":"x"}"#),
            enc("s")
        );
        assert_eq!(decode(&t2).unwrap().claims.aud, vec!["x"]);
        assert_eq!(decode("a.b").unwrap_err(), JwtError::Shape);
        assert_eq!(
            decode("!!.e30.e30").unwrap_err(),
            JwtError::Base64("header")
        );
        let dbg = format!("{:?}", decode(&t).unwrap());
        assert!(
            !dbg.contains(&enc("sig")) && !dbg.contains("signature:"),
            "{dbg}"
        );
        assert_eq!(
            format!("{:?}", SecretToken::new(t)),
            "SecretToken(<redacted>)"
        );
    }

    #[test]
    fn unknown_kid_and_unsupported() {
        let t = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"RS256","kid":"k1"}"#),
            enc("{}"),
            enc("s")
        );
        let j = decode(&t).unwrap();
        let jwks = Jwks {
            keys: vec![Jwk {
                kid: Some("other".into()),
                kty: "RSA".into(),
                n: Some("AQAB".into()),
                e: Some("AQAB".into()),
            }],
        };
        assert_eq!(verify(&j, &jwks), Signature::UnknownKid);
        let jwks = Jwks {
            keys: vec![Jwk {
                kid: Some("k1".into()),
                kty: "RSA".into(),
                n: Some("AQAB".into()),
                e: Some("AQAB".into()),
            }],
        };
        assert_eq!(verify(&j, &jwks), Signature::Invalid);
        let hs = decode(&format!(
            "{}.{}.{}",
            enc(r#"{"alg":"HS256"}"#),
            enc("{}"),
            enc("s")
        ))
        .unwrap();
        assert_eq!(verify(&hs, &jwks), Signature::Unsupported);
    }
}

//! Reading a request's `params` for the era, within the one parse `jsonrpc::classify`
//! makes of each line: any JSON value is accepted there (a server, not the bridge, refuses
//! odd params), object keys other than the four the era reads are skipped without
//! allocating, and strings stay borrowed from the line when they have no escapes.

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// A request's `params` as far as the era needs them: any JSON value is accepted (JSON-RPC
/// allows arrays), and only an object's `name`, `uri`, `arguments` and `_meta` are kept.
#[derive(Debug, Default)]
pub struct Params<'a> {
    pub(super) name: Option<Cow<'a, str>>,
    pub(super) uri: Option<Cow<'a, str>>,
    pub(super) arguments: Option<&'a RawValue>,
    pub(super) meta: Option<&'a RawValue>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Params<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ParamsVisitor(std::marker::PhantomData))
    }
}

struct ParamsVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ParamsVisitor<'a> {
    type Value = Params<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON-RPC params")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Params<'a>, M::Error> {
        let mut p = Params::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Name => p.name = map.next_value::<Text<'a>>()?.0,
                Key::Uri => p.uri = map.next_value::<Text<'a>>()?.0,
                Key::Arguments => p.arguments = Some(map.next_value()?),
                Key::Meta => p.meta = Some(map.next_value()?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(p)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Params<'a>, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Params::default())
    }

    fn visit_unit<E>(self) -> Result<Params<'a>, E> {
        Ok(Params::default())
    }

    fn visit_bool<E>(self, _: bool) -> Result<Params<'a>, E> {
        Ok(Params::default())
    }

    fn visit_i64<E>(self, _: i64) -> Result<Params<'a>, E> {
        Ok(Params::default())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Params<'a>, E> {
        Ok(Params::default())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Params<'a>, E> {
        Ok(Params::default())
    }

    fn visit_str<E>(self, _: &str) -> Result<Params<'a>, E> {
        Ok(Params::default())
    }
}

/// A `params` key the era reads, without allocating for the others.
enum Key {
    Name,
    Uri,
    Arguments,
    Meta,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, k: &str) -> Result<Key, E> {
                Ok(match k {
                    "name" => Key::Name,
                    "uri" => Key::Uri,
                    "arguments" => Key::Arguments,
                    "_meta" => Key::Meta,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// A string, borrowed when it has no escapes; any other JSON value reads as `None` (the
/// server, not the bridge, refuses a `name` that is not a string).
struct Text<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Text<'a>, M::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Text<'a>, S::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_unit<E>(self) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
        }
        d.deserialize_any(TextVisitor(std::marker::PhantomData))
    }
}

// Differential check: decode GroupMutablePermissionsV1 hex lines like
// libxmtp (prost decode + from_proto checks) and print a canonical form.
use prost::Message;
use std::collections::HashMap;
use std::io::BufRead;

#[derive(Clone, PartialEq, Message)]
pub struct GroupMutablePermissionsV1 {
    #[prost(message, optional, tag = "1")]
    pub policies: Option<PolicySet>,
}
#[derive(Clone, PartialEq, Message)]
pub struct PolicySet {
    #[prost(message, optional, tag = "1")]
    pub add_member_policy: Option<Pol>,
    #[prost(message, optional, tag = "2")]
    pub remove_member_policy: Option<Pol>,
    #[prost(map = "string, message", tag = "3")]
    pub update_metadata_policy: HashMap<String, Pol>,
    #[prost(message, optional, tag = "4")]
    pub add_admin_policy: Option<Pol>,
    #[prost(message, optional, tag = "5")]
    pub remove_admin_policy: Option<Pol>,
    #[prost(message, optional, tag = "6")]
    pub update_permissions_policy: Option<Pol>,
}
// The three policy messages share one shape; one Rust type serves all.
#[derive(Clone, PartialEq, Message)]
pub struct Pol {
    #[prost(oneof = "Kind", tags = "1, 2, 3")]
    pub kind: Option<Kind>,
}
#[derive(Clone, PartialEq, Message)]
pub struct Cond {
    #[prost(message, repeated, tag = "1")]
    pub policies: Vec<Pol>,
}
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Kind {
    #[prost(int32, tag = "1")]
    Base(i32),
    #[prost(message, tag = "2")]
    AndCondition(Cond),
    #[prost(message, tag = "3")]
    AnyCondition(Cond),
}

fn conv(p: &Pol, perms: bool) -> Result<String, ()> {
    match &p.kind {
        Some(Kind::Base(v)) => {
            let names: &[&str] = if perms { &["deny", "admin", "super_admin"] } else { &["allow", "deny", "admin", "super_admin"] };
            if *v >= 1 && (*v as usize) <= names.len() { Ok(names[*v as usize - 1].to_string()) } else { Err(()) }
        }
        Some(Kind::AndCondition(c)) | Some(Kind::AnyCondition(c)) => {
            if c.policies.is_empty() { return Err(()); }
            let op = if matches!(p.kind, Some(Kind::AndCondition(_))) { "and" } else { "any" };
            let subs: Result<Vec<String>, ()> = c.policies.iter().map(|s| conv(s, perms)).collect();
            Ok(format!("{}({})", op, subs?.join(", ")))
        }
        None => Err(()),
    }
}

fn canon(b: &[u8]) -> Result<String, ()> {
    let m = GroupMutablePermissionsV1::decode(b).map_err(|_| ())?;
    let s = m.policies.ok_or(())?;
    let am = conv(s.add_member_policy.as_ref().ok_or(())?, false)?;
    let rm = conv(s.remove_member_policy.as_ref().ok_or(())?, false)?;
    let aa = conv(s.add_admin_policy.as_ref().ok_or(())?, true)?;
    let ra = conv(s.remove_admin_policy.as_ref().ok_or(())?, true)?;
    let up = conv(s.update_permissions_policy.as_ref().ok_or(())?, true)?;
    let mut keys: Vec<&String> = s.update_metadata_policy.keys().collect();
    keys.sort();
    let mut meta = Vec::new();
    for k in keys {
        meta.push(format!("{}={}", k.bytes().map(|b| format!("{:02x}", b)).collect::<String>(), conv(&s.update_metadata_policy[k], false)?));
    }
    Ok(format!("add={} remove={} meta=[{}] add_admin={} remove_admin={} update_permissions={}", am, rm, meta.join(" "), aa, ra, up))
}

fn main() {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let bytes: Vec<u8> = (0..line.len() / 2).map(|i| u8::from_str_radix(&line[2 * i..2 * i + 2], 16).unwrap()).collect();
        match canon(&bytes) {
            Ok(s) if std::env::var("ENC").is_ok() => {
                let m = GroupMutablePermissionsV1::decode(bytes.as_slice()).unwrap();
                if m.policies.as_ref().unwrap().update_metadata_policy.len() <= 1 {
                    println!("{}", m.encode_to_vec().iter().map(|b| format!("{:02x}", b)).collect::<String>());
                } else {
                    println!("SKIP");
                }
                let _ = s;
            }
            Ok(s) => println!("{}", s),
            Err(()) => println!("ERR"),
        }
    }
}

// Differential check for the client's prost-exact decoders: each input
// line is "<kind> <hex>" (kind mem = GroupMembership, mut =
// GroupMutableMetadataV1, imm = GroupMetadataV1); each output line is the
// decoded message in a canonical form, or ERR when prost refuses it. The
// messages are declared here from xmtp-groups.md §2 with prost's derive,
// as xmtp_proto declares them.
use prost::Message;
use std::collections::HashMap;
use std::io::BufRead;

#[derive(Clone, PartialEq, Message)]
pub struct GroupMembership {
    #[prost(map = "string, uint64", tag = "1")]
    pub members: HashMap<String, u64>,
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub failed_installations: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Inboxes {
    #[prost(string, repeated, tag = "1")]
    pub inbox_ids: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct GroupMutableMetadataV1 {
    #[prost(map = "string, string", tag = "1")]
    pub attributes: HashMap<String, String>,
    #[prost(message, optional, tag = "2")]
    pub admin_list: Option<Inboxes>,
    #[prost(message, optional, tag = "3")]
    pub super_admin_list: Option<Inboxes>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Inbox {
    #[prost(string, tag = "1")]
    pub inbox_id: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct DmMembers {
    #[prost(message, optional, tag = "1")]
    pub dm_member_one: Option<Inbox>,
    #[prost(message, optional, tag = "2")]
    pub dm_member_two: Option<Inbox>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ReaddRequest {
    #[prost(bytes = "vec", tag = "1")]
    pub group_id: Vec<u8>,
    #[prost(uint64, tag = "2")]
    pub latest_commit_sequence_id: u64,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum MessageType {
    #[prost(message, tag = "1")]
    ReaddRequest(ReaddRequest),
}

#[derive(Clone, PartialEq, Message)]
pub struct OneshotMessage {
    #[prost(oneof = "MessageType", tags = "1")]
    pub message_type: Option<MessageType>,
}

#[derive(Clone, PartialEq, Message)]
pub struct GroupMetadataV1 {
    #[prost(int32, tag = "1")]
    pub conversation_type: i32,
    #[prost(string, tag = "2")]
    pub creator_account_address: String,
    #[prost(string, tag = "3")]
    pub creator_inbox_id: String,
    #[prost(message, optional, tag = "4")]
    pub dm_members: Option<DmMembers>,
    #[prost(message, optional, tag = "5")]
    pub oneshot_message: Option<OneshotMessage>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{:02x}", x)).collect()
}

fn inboxes(i: &Option<Inboxes>) -> String {
    match i {
        None => "-".to_string(),
        Some(i) => format!("[{}]", i.inbox_ids.iter().map(|s| hex(s.as_bytes())).collect::<Vec<_>>().join(",")),
    }
}

fn inbox(i: &Option<Inbox>) -> String {
    match i {
        None => "-".to_string(),
        Some(i) => hex(i.inbox_id.as_bytes()),
    }
}

fn canon(kind: &str, b: &[u8]) -> Result<String, prost::DecodeError> {
    Ok(match kind {
        "mem" => {
            let m = GroupMembership::decode(b)?;
            let mut keys: Vec<&String> = m.members.keys().collect();
            keys.sort();
            let members: Vec<String> = keys.iter().map(|k| format!("{}={}", hex(k.as_bytes()), m.members[*k])).collect();
            let failed: Vec<String> = m.failed_installations.iter().map(|f| hex(f)).collect();
            format!("members=[{}] failed=[{}]", members.join(","), failed.join(","))
        }
        "mut" => {
            let m = GroupMutableMetadataV1::decode(b)?;
            let mut keys: Vec<&String> = m.attributes.keys().collect();
            keys.sort();
            let attrs: Vec<String> = keys.iter().map(|k| format!("{}={}", hex(k.as_bytes()), hex(m.attributes[*k].as_bytes()))).collect();
            format!("attrs=[{}] admins={} supers={}", attrs.join(","), inboxes(&m.admin_list), inboxes(&m.super_admin_list))
        }
        "imm" => {
            let m = GroupMetadataV1::decode(b)?;
            let dm = match &m.dm_members {
                None => "-".to_string(),
                Some(d) => format!("({},{})", inbox(&d.dm_member_one), inbox(&d.dm_member_two)),
            };
            let oneshot = match &m.oneshot_message {
                None => "-".to_string(),
                Some(o) => match &o.message_type {
                    None => "(-)".to_string(),
                    Some(MessageType::ReaddRequest(r)) => format!("(({},{}))", hex(&r.group_id), r.latest_commit_sequence_id),
                },
            };
            format!("type={} addr={} creator={} dm={} oneshot={}", m.conversation_type,
                hex(m.creator_account_address.as_bytes()), hex(m.creator_inbox_id.as_bytes()), dm, oneshot)
        }
        _ => panic!("unknown kind {}", kind),
    })
}

fn main() {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let (kind, h) = line.split_once(' ').unwrap();
        let bytes: Vec<u8> = (0..h.len() / 2).map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap()).collect();
        match canon(kind, &bytes) {
            Ok(s) => println!("{}", s),
            Err(_) => println!("ERR"),
        }
    }
}

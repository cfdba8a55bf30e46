// Netlink::list_nft_counters (netlink.hpp), apart from the rtnetlink calls: the nf_tables
// headers pull in linux/in.h and linux/if.h, which clash with glibc's net/if.h there.

#include <squib/platform/linux/netlink.hpp>

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>

namespace squib::platform {

using core::Result;

namespace {

int parse_counter_data(const nlattr* attr, void* data) {
  auto* counter = static_cast<NftCounter*>(data);
  if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0) return MNL_CB_OK;
  switch (mnl_attr_get_type(attr)) {
    case NFTA_COUNTER_PACKETS: counter->packets = be64toh(mnl_attr_get_u64(attr)); break;
    case NFTA_COUNTER_BYTES: counter->bytes = be64toh(mnl_attr_get_u64(attr)); break;
    default: break;
  }
  return MNL_CB_OK;
}

int parse_object_attr(const nlattr* attr, void* data) {
  auto* counter = static_cast<NftCounter*>(data);
  switch (mnl_attr_get_type(attr)) {
    case NFTA_OBJ_TABLE:
      if (mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0) counter->table = mnl_attr_get_str(attr);
      break;
    case NFTA_OBJ_NAME:
      if (mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0) counter->name = mnl_attr_get_str(attr);
      break;
    case NFTA_OBJ_DATA:
      if (mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0) mnl_attr_parse_nested(attr, parse_counter_data, counter);
      break;
    default: break;
  }
  return MNL_CB_OK;
}

}  // namespace

Result<std::vector<NftCounter>> Netlink::list_nft_counters(std::uint8_t family) {
  // As libnftnl's object dump: an nfgenmsg for the family, filtered by object type in the
  // kernel (nf_tables_dump_obj honours NFTA_OBJ_TYPE).
  std::memset(m_buffer.data(), 0, m_buffer.size());
  nlmsghdr* message = mnl_nlmsg_put_header(m_buffer.data());
  message->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETOBJ;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message->nlmsg_seq = ++m_seq;
  auto* header = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(nfgenmsg)));
  header->nfgen_family = family;
  header->version = NFNETLINK_V0;
  header->res_id = 0;
  mnl_attr_put_u32(message, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
  std::vector<NftCounter> counters;
  auto done = transact("list nft counters", [&counters](const nlmsghdr* reply) {
    if ((reply->nlmsg_type & 0xff) != NFT_MSG_NEWOBJ) return;
    NftCounter counter;
    mnl_attr_parse(reply, sizeof(nfgenmsg), parse_object_attr, &counter);
    if (!counter.table.empty() && !counter.name.empty()) counters.push_back(std::move(counter));
  });
  if (!done) return done.error();
  return counters;
}

}  // namespace squib::platform

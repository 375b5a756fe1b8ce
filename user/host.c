// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/ethtool.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>

#include "host.h"
#include "log.h"
#include "nexthop.h"

/* One request, one acknowledgement; returns 0 or the kernel's -errno. */
static int nl_talk(struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	unsigned int portid;
	int ret;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (ret < 0) {
		ret = -errno;
		goto out;
	}
	ret = mnl_cb_run(buf, ret, nlh->nlmsg_seq, portid, NULL, NULL);
	ret = ret < 0 ? -errno : 0;
out:
	mnl_socket_close(nl);
	return ret;
}

static int veth_create(const char *name, const char *peer, uint32_t mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlattr *info, *data, *pinfo;
	struct ifinfomsg *ifi, *pifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);

	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	pinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_nest_end(nlh, pinfo);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nlh);
}

static int link_flags(int ifindex, unsigned int flags, unsigned int change)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	return nl_talk(nlh);
}

/* Legacy ethtool calls: the kernel maps them onto feature flags. */
static int ethtool_set(const char *name, uint32_t cmd, uint32_t value)
{
	struct ethtool_value ev = { .cmd = cmd, .data = value };
	struct ifreq ifr = { 0 };
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&ev;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		ret = -errno;
	close(fd);
	return ret;
}

static int link_mac(const char *name, uint8_t *mac)
{
	struct ifreq ifr = { 0 };
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		ret = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return ret;
}

static int rule_change(uint16_t type, uint8_t family, uint32_t pref,
		       uint32_t table, uint32_t mark)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh;

	nlh->nlmsg_type = type;
	if (type == RTM_NEWRULE)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, pref);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	if (mark) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffff);
	}
	return nl_talk(nlh);
}

static int rules_install(void)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	int ret;

	for (size_t i = 0; i < sizeof(families); i++) {
		ret = rule_change(RTM_NEWRULE, families[i],
				  HOST_RULE_PREF_MARK, RT_TABLE_MAIN,
				  NH_ROUTE_MARK);
		if (ret && ret != -EEXIST)
			return ret;
		ret = rule_change(RTM_NEWRULE, families[i], HOST_RULE_PREF,
				  HOST_TABLE, 0);
		if (ret && ret != -EEXIST)
			return ret;
	}
	return 0;
}

static int link_mtu(int ifindex, uint32_t mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_talk(nlh);
}

int host_if_setup(struct host_if *h, const char *name, uint32_t mtu)
{
	uint32_t link = mtu > HOST_LINK_MTU_MIN ? mtu : HOST_LINK_MTU_MIN;
	int ret;

	memset(h, 0, sizeof(*h));
	h->route_mtu = mtu;
	if (strlen(name) + 2 > sizeof(h->name))
		return -ENAMETOOLONG;
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->peer, sizeof(h->peer), "%sx", name);

	ret = veth_create(h->name, h->peer, link);
	if (ret && ret != -EEXIST)
		return ret;
	h->ifindex = if_nametoindex(h->name);
	h->peer_ifindex = if_nametoindex(h->peer);
	if (!h->ifindex || !h->peer_ifindex)
		return -ENODEV;
	if (ret == -EEXIST) {
		ret = link_mtu(h->ifindex, link);
		if (!ret)
			ret = link_mtu(h->peer_ifindex, link);
		if (ret)
			return ret;
	}

	/*
	 * No neighbour resolution on a point-to-point pair: frames go to
	 * the far end whatever their destination MAC says.
	 */
	ret = link_flags(h->ifindex, IFF_UP | IFF_NOARP, IFF_UP | IFF_NOARP);
	if (!ret)
		ret = link_flags(h->peer_ifindex, IFF_UP, IFF_UP);
	if (!ret)
		ret = ethtool_set(h->name, ETHTOOL_STXCSUM, 0);
	if (!ret)
		ret = link_mac(h->name, h->mac);
	if (!ret)
		ret = rules_install();
	return ret;
}

static int route_change(struct host_if *h, uint16_t type,
			const struct host_route *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	if (type == RTM_NEWROUTE)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = r->family;
	rtm->rtm_dst_len = r->plen;
	rtm->rtm_table = RT_TABLE_UNSPEC;
	rtm->rtm_protocol = HOST_RT_PROTO;
	rtm->rtm_scope = r->throw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = r->throw ? RTN_THROW : RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, r->family == AF_INET ? 4 : 16, &r->dst);
	mnl_attr_put_u32(nlh, RTA_TABLE, HOST_TABLE);
	if (type == RTM_NEWROUTE && !r->throw) {
		struct nlattr *metrics;

		mnl_attr_put_u32(nlh, RTA_OIF, h->ifindex);
		metrics = mnl_attr_nest_start(nlh, RTA_METRICS);
		mnl_attr_put_u32(nlh, RTAX_MTU, h->route_mtu);
		mnl_attr_nest_end(nlh, metrics);
	}
	return nl_talk(nlh);
}

struct route_list {
	struct host_route *r;
	size_t n, cap;
};

/* Keeps the routes of HOST_TABLE that carry our protocol mark. */
static int route_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_list *l = data;
	struct host_route r = { .family = rtm->rtm_family,
				.plen = rtm->rtm_dst_len,
				.throw = rtm->rtm_type == RTN_THROW };
	uint32_t table = rtm->rtm_table;
	const struct nlattr *a;

	if (rtm->rtm_protocol != HOST_RT_PROTO)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		size_t len = mnl_attr_get_payload_len(a);

		if (mnl_attr_get_type(a) == RTA_TABLE && len == 4)
			table = mnl_attr_get_u32(a);
		if (mnl_attr_get_type(a) == RTA_DST && len <= sizeof(r.dst))
			memcpy(&r.dst, mnl_attr_get_payload(a), len);
	}
	if (table != HOST_TABLE)
		return MNL_CB_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct host_route *nr = realloc(l->r, cap * sizeof(*nr));

		if (!nr)
			return MNL_CB_ERROR;
		l->r = nr;
		l->cap = cap;
	}
	l->r[l->n++] = r;
	return MNL_CB_OK;
}

/* The routes of ours now in HOST_TABLE, both families. */
static int routes_dump(struct route_list *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct mnl_socket *nl;
	unsigned int portid;
	struct rtmsg *rtm;
	int ret;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_UNSPEC;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	do {
		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret <= 0)
			break;
		ret = mnl_cb_run(buf, ret, nlh->nlmsg_seq, portid,
				 route_dump_cb, l);
	} while (ret > MNL_CB_STOP);
	ret = ret < 0 ? -errno : 0;
out:
	mnl_socket_close(nl);
	return ret;
}

static bool route_in(const struct host_route *r, const struct host_route *set,
		     size_t n)
{
	size_t alen = r->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++)
		if (set[i].family == r->family && set[i].plen == r->plen &&
		    set[i].throw == r->throw &&
		    !memcmp(&set[i].dst, &r->dst, alen))
			return true;
	return false;
}

int host_routes_sync(struct host_if *h, const struct host_route *want,
		     size_t n)
{
	struct route_list have = { 0 };
	int ret, err = 0;

	ret = routes_dump(&have);
	for (size_t i = 0; !ret && i < have.n; i++) {
		if (route_in(&have.r[i], want, n))
			continue;
		ret = route_change(h, RTM_DELROUTE, &have.r[i]);
		if (ret == -ESRCH)
			ret = 0;
	}
	for (size_t i = 0; !ret && i < n; i++) {
		if (route_in(&want[i], have.r, have.n))
			continue;
		ret = route_change(h, RTM_NEWROUTE, &want[i]);
		if (ret && !err)
			err = ret;	/* one bad prefix must not stop the rest */
		ret = 0;
	}
	free(have.r);
	return ret ? ret : err;
}

void host_routes_flush(void)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };

	for (size_t i = 0; i < sizeof(families); i++) {
		rule_change(RTM_DELRULE, families[i], HOST_RULE_PREF_MARK,
			    RT_TABLE_MAIN, NH_ROUTE_MARK);
		rule_change(RTM_DELRULE, families[i], HOST_RULE_PREF,
			    HOST_TABLE, 0);
	}
}

int host_if_delete(const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_DELLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_talk(nlh);
}

/*
 * net: answer ARP requests and ICMP echo requests for 10.0.0.2 on device
 * "service0". Command line: "limit" = stop after 5 echo replies, a number
 * N = stop after N replies, empty = serve forever. Prints SUCCESS when
 * the limit is reached.
 */
#include "common.h"

#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_IPV4 0x0800
#define ETH_HLEN 14
#define ARP_LEN 28
#define IP_PROTO_ICMP 1
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define FRAME_MAX (9000 + ETH_HLEN)
#define DEFAULT_LIMIT 5

static const uint8_t my_ip[4] = {10, 0, 0, 2};
static uint8_t my_mac[SOLO5_NET_ALEN];
static uint8_t frame[FRAME_MAX];

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Internet checksum (RFC 1071) over n bytes. */
static uint16_t inet_csum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (; n > 1; n -= 2, p += 2)
        sum += get16(p);
    if (n)
        sum += (uint32_t)p[0] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Turn the Ethernet header around: reply to the sender from us. */
static void eth_reply(uint8_t *f)
{
    memcpy(f, f + 6, 6);
    memcpy(f + 6, my_mac, 6);
}

/* ARP request for our address -> reply. Returns the reply length or 0. */
static size_t handle_arp(uint8_t *f, size_t len)
{
    uint8_t *a = f + ETH_HLEN;

    if (len < ETH_HLEN + ARP_LEN)
        return 0;
    /* Ethernet/IPv4, 6-byte MACs, 4-byte addresses, op 1 = request */
    if (get16(a) != 1 || get16(a + 2) != ETH_TYPE_IPV4 || a[4] != 6 ||
        a[5] != 4 || get16(a + 6) != 1 || memcmp(a + 24, my_ip, 4) != 0)
        return 0;
    put16(a + 6, 2);              /* op = reply */
    memcpy(a + 18, a + 8, 10);    /* target = requester's MAC and IP */
    memcpy(a + 8, my_mac, 6);     /* sender MAC = us */
    memcpy(a + 14, my_ip, 4);     /* sender IP = us */
    eth_reply(f);
    return ETH_HLEN + ARP_LEN;
}

/* ICMP echo request to us -> echo reply. Returns reply length or 0. */
static size_t handle_ipv4(uint8_t *f, size_t len)
{
    uint8_t *ip = f + ETH_HLEN;

    if (len < ETH_HLEN + 20 || (ip[0] >> 4) != 4)
        return 0;
    size_t ihl = (size_t)(ip[0] & 0xf) * 4;
    size_t total = get16(ip + 2);
    if (ihl < 20 || total < ihl + 8 || total > len - ETH_HLEN)
        return 0;
    if (ip[9] != IP_PROTO_ICMP || memcmp(ip + 16, my_ip, 4) != 0)
        return 0;
    if ((get16(ip + 6) & 0x3fff) != 0) /* fragments: not for this test */
        return 0;
    if (inet_csum(ip, ihl) != 0)
        return 0;
    uint8_t *icmp = ip + ihl;
    size_t icmp_len = total - ihl;
    if (icmp[0] != ICMP_ECHO_REQUEST || icmp[1] != 0 ||
        inet_csum(icmp, icmp_len) != 0)
        return 0;

    icmp[0] = ICMP_ECHO_REPLY;
    put16(icmp + 2, 0);
    put16(icmp + 2, inet_csum(icmp, icmp_len));
    memcpy(ip + 16, ip + 12, 4); /* dst = original src */
    memcpy(ip + 12, my_ip, 4);
    ip[8] = 64; /* fresh TTL */
    put16(ip + 10, 0);
    put16(ip + 10, inet_csum(ip, ihl));
    eth_reply(f);
    return ETH_HLEN + total;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    solo5_handle_t h;
    struct solo5_net_info ni;
    uint64_t limit = 0, replies = 0;

    if (strcmp(si->cmdline, "limit") == 0)
        limit = DEFAULT_LIMIT;
    else if (si->cmdline[0] != '\0' && !parse_u64(si->cmdline, &limit))
        return fail("command line must be empty, 'limit' or a number");
    if (solo5_net_acquire("service0", &h, &ni) != SOLO5_R_OK)
        return fail("acquire 'service0'");
    memcpy(my_mac, ni.mac_address, sizeof(my_mac));
    uaaf_printf("net: serving 10.0.0.2 at %02x:%02x:%02x:%02x:%02x:%02x, "
                "mtu %lu, limit %lu\n",
                my_mac[0], my_mac[1], my_mac[2], my_mac[3], my_mac[4],
                my_mac[5], (unsigned long)ni.mtu, (unsigned long)limit);

    while (limit == 0 || replies < limit) {
        solo5_handle_set_t ready = 0;
        solo5_yield(solo5_clock_monotonic() + 1000000000ULL, &ready);
        if (!(ready & (1ULL << h)))
            continue;
        size_t len;
        while ((limit == 0 || replies < limit) &&
               solo5_net_read(h, frame, sizeof(frame), &len) == SOLO5_R_OK) {
            size_t out = 0;
            if (len < ETH_HLEN)
                continue;
            if (get16(frame + 12) == ETH_TYPE_ARP) {
                out = handle_arp(frame, len);
            } else if (get16(frame + 12) == ETH_TYPE_IPV4) {
                out = handle_ipv4(frame, len);
                if (out)
                    replies++;
            }
            if (out && solo5_net_write(h, frame, out) != SOLO5_R_OK)
                return fail("net write");
        }
    }
    uaaf_printf("net: sent %lu echo replies\n", (unsigned long)replies);
    return success();
}

/* The MOS message catalogue: one static table, every MOS 2.8.5 and 4.0
 * message (ground truth: ../shared/fixtures/mos/spec/MANIFEST.tsv). Profiles
 * per M-23, channels per M-03 (mom = lower port 10540, ro = upper port 10541,
 * aux = 10542), removed-in-4.0 per M-12. `answer` is the reply that closes
 * the exchange (M-22: mosAck on mom, roAck on ro, or the listed data reply). */
#include "mos/mos.h"

#include <string.h>
#include <strings.h>

#define MOM CG_MOS_CH_MOM
#define RO CG_MOS_CH_RO
#define AUX CG_MOS_CH_AUX
#define PLUG CG_MOS_CH_PLUGIN

static const struct cg_mos_msg_info table[] = {
    /* Profile 0: basic communication (M-09, M-10, M-23). */
    {"heartbeat", 0, MOM | RO, "heartbeat", false, NULL, false}, /* may itself be a reply: M-10 */
    {"keepAlive", 0, MOM | RO, NULL, false, NULL, false},        /* 4.0 only, never answered: M-09 */
    {"reqMachInfo", 0, MOM | RO, "listMachInfo", false, NULL, false},
    {"listMachInfo", 0, MOM | RO, NULL, true, "reqMachInfo", false},
    /* Profile 1: basic objects. */
    {"mosAck", 1, MOM, NULL, true, NULL, false}, /* answers every mom request */
    {"mosObj", 1, MOM, "mosAck", false, "mosReqObj", false},
    {"mosReqObj", 1, MOM, "mosObj", false, NULL, false},
    {"mosReqAll", 1, MOM, "mosAck", false, NULL, false},
    {"mosListAll", 1, MOM, "mosAck", false, NULL, false},
    /* Profile 2: running orders. */
    {"roAck", 2, RO, NULL, true, NULL, false}, /* answers every ro request */
    {"roCreate", 2, RO, "roAck", false, NULL, false},
    {"roReplace", 2, RO, "roAck", false, NULL, false},
    {"roMetadataReplace", 2, RO, "roAck", false, NULL, false},
    {"roDelete", 2, RO, "roAck", false, NULL, false},
    {"roReq", 2, RO, "roList", false, NULL, false},
    {"roList", 2, RO, NULL, true, "roReq", false},
    {"roReadyToAir", 2, RO, "roAck", false, NULL, false},
    {"roElementAction", 2, RO, "roAck", false, NULL, false},
    {"roElementStat", 2, RO, "roAck", false, NULL, false},
    /* Profile 2 in 2.8.5, removed in 4.0 (M-12): replaced by roElementAction/Stat. */
    {"roStoryAppend", 2, RO, "roAck", false, NULL, true},
    {"roStoryInsert", 2, RO, "roAck", false, NULL, true},
    {"roStoryReplace", 2, RO, "roAck", false, NULL, true},
    {"roStoryMove", 2, RO, "roAck", false, NULL, true},
    {"roStoryMoveMultiple", 2, RO, "roAck", false, NULL, true},
    {"roStorySwap", 2, RO, "roAck", false, NULL, true},
    {"roStoryDelete", 2, RO, "roAck", false, NULL, true},
    {"roItemInsert", 2, RO, "roAck", false, NULL, true},
    {"roItemReplace", 2, RO, "roAck", false, NULL, true},
    {"roItemMoveMultiple", 2, RO, "roAck", false, NULL, true},
    {"roItemDelete", 2, RO, "roAck", false, NULL, true},
    {"roStat", 2, RO, "roAck", false, NULL, true},
    {"roItemStat", 2, RO, "roAck", false, NULL, true},
    /* Profile 3: advanced objects; the search family on aux (M-03). */
    {"mosObjCreate", 3, MOM, "mosAck", false, NULL, false},
    {"mosItemReplace", 3, RO, "roAck", false, NULL, false},
    {"mosReqObjAction", 3, MOM, "mosAck", false, NULL, false},
    {"mosReqSearchableSchema", 3, AUX, "mosListSearchableSchema", false, NULL, false},
    {"mosListSearchableSchema", 3, AUX, NULL, true, "mosReqSearchableSchema", false},
    {"mosReqObjList", 3, AUX, "mosObjList", false, NULL, false},
    {"mosObjList", 3, AUX, NULL, true, "mosReqObjList", false},
    /* Profile 4: advanced running orders. */
    {"roReqAll", 4, RO, "roListAll", false, NULL, false},
    {"roListAll", 4, RO, NULL, true, "roReqAll", false},
    {"roStorySend", 4, RO, "roAck", false, NULL, false},
    /* Profile 5: item control. */
    {"roItemCue", 5, RO, "roAck", false, NULL, false},
    {"roCtrl", 5, RO, "roAck", false, NULL, false},
    /* Profile 7: RO modification. */
    {"roReqStoryAction", 7, RO, "roAck", false, NULL, false},
    /* Plug-in messages (4.0 §5.3): window.postMessage/ActiveX, never on a
     * socket. roStorySend and mosItemReplace also exist there; the socket
     * entries above win on lookup. */
    {"roStorySend", -1, PLUG, "ncsAck", false, NULL, false},
    {"mosItemReplace", -1, PLUG, "ncsAck", false, NULL, false},
    {"ncsAck", -1, PLUG, NULL, true, NULL, false},
    {"ncsReqAppInfo", -1, PLUG, "ncsAppInfo", false, NULL, false},
    {"ncsAppInfo", -1, PLUG, NULL, true, "ncsReqAppInfo", false},
    {"ncsReqAppMode", -1, PLUG, "ncsAck", false, NULL, false},
    {"ncsStoryRequest", -1, PLUG, "roStorySend", false, NULL, false},
    {"ncsItemRequest", -1, PLUG, "ncsItem", false, NULL, false},
    {"ncsItem", -1, PLUG, "ncsAck", false, NULL, false},
    {"ncsReqAppClose", -1, PLUG, "ncsAck", false, NULL, false},
    {"ncsReqStoryAction", -1, PLUG, "ncsAck", false, NULL, false},
};

const struct cg_mos_msg_info *cg_mos_msg_lookup(const char *name, size_t len)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < CG_ARRAY_LEN(table); i++)
        if (strlen(table[i].name) == len && memcmp(table[i].name, name, len) == 0)
            return &table[i];
    /* M-09, ERRATA 15: the DTD spells it keepalive; tags are otherwise
     * case-sensitive (M-20), so this is the one alias. */
    if (len == 9 && strncasecmp(name, "keepalive", 9) == 0)
        return cg_mos_msg_lookup("keepAlive", 9);
    return NULL;
}

const struct cg_mos_msg_info *cg_mos_msg_table(size_t *count)
{
    if (count != NULL)
        *count = CG_ARRAY_LEN(table);
    return table;
}

const char *cg_mos_channel_name(unsigned channels)
{
    switch (channels) {
    case 0: return "none";
    case MOM: return "mom";
    case RO: return "ro";
    case AUX: return "aux";
    case MOM | RO: return "mom+ro";
    case PLUG: return "plugin";
    case MOM | RO | AUX: return "mom+ro+aux";
    default: return "mixed";
    }
}

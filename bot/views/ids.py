"""Every action id, block id and callback id the app uses, in one place."""

# /book modal
BOOK_MODAL = "book_modal"
ROOM_BLOCK, ROOM_ACTION = "room", "room_select"
DATE_BLOCK, DATE_ACTION = "date", "date_pick"
START_BLOCK, START_ACTION = "start", "start_pick"
END_BLOCK, END_ACTION = "end", "end_pick"
TITLE_BLOCK, TITLE_ACTION = "title", "title_input"

# approval cards and the admin queue
APPROVE = "approve_booking"
DENY = "deny_booking"
DENY_MODAL = "deny_modal"
REASON_BLOCK, REASON_ACTION = "reason", "reason_input"

# bookings lists (ephemeral /book list, App Home)
CANCEL = "cancel_booking"
CHANGE = "change_booking"
END_NOW = "end_booking"
CHECK_IN = "check_in"
RELEASE = "release_booking"
WAIT = "join_waitlist"
BOOK_IT = "claim_offer"
OPEN_BOOK_MODAL = "open_book_modal"
HOME_MORE = "home_more"

# room administration
ROOM_MODAL = "room_modal"
ROOM_ADD = "room_add"
ROOM_EDIT = "room_edit"
ROOM_ID_BLOCK, ROOM_ID_ACTION = "room_id", "room_id_input"
ROOM_NAME_BLOCK, ROOM_NAME_ACTION = "room_name", "room_name_input"
ROOM_CAPACITY_BLOCK, ROOM_CAPACITY_ACTION = "room_capacity", "room_capacity_input"
ROOM_ACTIVE_BLOCK, ROOM_ACTIVE_ACTION = "room_active", "room_active_input"

"""Every action id, block id and callback id the app uses, in one place."""

# /book modal
BOOK_MODAL = "book_modal"
ROOM_BLOCK, ROOM_ACTION = "room", "room_select"
DATE_BLOCK, DATE_ACTION = "date", "date_pick"
START_BLOCK, START_ACTION = "start", "start_pick"
END_BLOCK, END_ACTION = "end", "end_pick"
TITLE_BLOCK, TITLE_ACTION = "title", "title_input"
REPEAT_BLOCK, REPEAT_ACTION = "repeat", "repeat_select"
WEEKDAYS_BLOCK, WEEKDAYS_ACTION = "weekdays", "weekdays_check"
INTERVAL_BLOCK, INTERVAL_ACTION = "interval", "interval_input"
UNTIL_BLOCK, UNTIL_ACTION = "until", "until_pick"
COUNT_BLOCK, COUNT_ACTION = "count", "count_input"
SERIES_MODAL = "series_preview"  # the dates of a repeating booking, before it is requested
BOOK_BACK = "book_back"  # a taken slot's "Back to the form": the form again, filled in
BOOK_FREE = "book_free"  # a taken slot's "Request <the room's next free slot>"
SERIES_EDIT = "series_edit"  # the preview's "Change the pattern": the form again, filled in

# approval cards and the admin queue
APPROVE = "approve_booking"
DENY = "deny_booking"
DENY_MODAL = "deny_modal"
APPROVE_SERIES = "approve_series"
DENY_SERIES = "deny_series"
REASON_BLOCK, REASON_ACTION = "reason", "reason_input"

# bookings lists (ephemeral /book list, App Home)
CANCEL = "cancel_booking"
CANCEL_OCCURRENCE = "cancel_occurrence"  # one date of a series
CANCEL_FOLLOWING = "cancel_following"  # one date of a series and every later one
CHANGE = "change_booking"
END_NOW = "end_booking"
CHECK_IN = "check_in"
RELEASE = "release_booking"
WAIT = "join_waitlist"
BOOK_IT = "claim_offer"
OPEN_BOOK_MODAL = "open_book_modal"
HOME_MORE = "home_more"
ADMIN_CANCEL = "admin_cancel_booking"  # an admin's Cancel in a list: the reason form first
CANCEL_MODAL = "cancel_modal"
LIST_PAGE = "list_page"  # a person's or a room's upcoming bookings: another page

# room administration
ROOM_MODAL = "room_modal"
ROOM_ADD = "room_add"
ROOM_EDIT = "room_edit"
ROOM_ID_BLOCK, ROOM_ID_ACTION = "room_id", "room_id_input"
ROOM_NAME_BLOCK, ROOM_NAME_ACTION = "room_name", "room_name_input"
ROOM_CAPACITY_BLOCK, ROOM_CAPACITY_ACTION = "room_capacity", "room_capacity_input"
ROOM_ACTIVE_BLOCK, ROOM_ACTIVE_ACTION = "room_active", "room_active_input"
ROOM_LOCATION_BLOCK, ROOM_LOCATION_ACTION = "room_location", "room_location_input"
ROOM_TAGS_BLOCK, ROOM_TAGS_ACTION = "room_tags", "room_tags_input"
ROOM_POLICY_BLOCK, ROOM_POLICY_ACTION = "room_policy", "room_policy_input"
ROOM_GROUPS_BLOCK, ROOM_GROUPS_ACTION = "room_groups", "room_groups_input"
ROOM_APPROVERS_BLOCK, ROOM_APPROVERS_ACTION = "room_approvers", "room_approvers_input"
ROOM_FEED_BLOCK, ROOM_FEED_ACTION = "room_feed", "room_feed_input"
ROOM_CHECKIN_BLOCK, ROOM_CHECKIN_ACTION = "room_checkin", "room_checkin_input"

# calendar feeds (App Home)
FEED_LINK = "feed_link"  # a new link to the clicker's own bookings
FEED_ROOM_LINK = "feed_room_link"  # an admin picks a room: a new link to its feed

# find a room
FIND = "find_room"  # App Home button: open the search form
FIND_MODAL = "find_modal"
FIND_PEOPLE_BLOCK, FIND_PEOPLE_ACTION = "find_people", "find_people_input"
FIND_DATE_BLOCK, FIND_DATE_ACTION = "find_date", "find_date_pick"
FIND_START_BLOCK, FIND_START_ACTION = "find_start", "find_start_pick"
FIND_LENGTH_BLOCK, FIND_LENGTH_ACTION = "find_length", "find_length_select"
FIND_TAGS_BLOCK, FIND_TAGS_ACTION = "find_tags", "find_tags_input"
FIND_BOOK = "find_book"  # a result's Book button: request that room for that window
FIND_EDIT = "find_edit"  # a result's "Change…" button: the booking form, prefilled

//! `/users` (admins): the identity provider's users, adding one, changing groups, disabling.
mod add_user_form;
mod user_card;
mod users_page;

pub use add_user_form::AddUserForm;
pub use user_card::UserCard;
pub use users_page::UsersPage;

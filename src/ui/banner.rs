//! The banner across the top while a source's credentials have expired: which profile, the
//! command that fixes it, and that the sources carry on by themselves once it is run.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{View, clean};
use crate::model::{Profile, SourceState, Store, credentials_expired_message};

/// True while any source reports expired credentials.
pub fn shown(store: &Store) -> bool {
    store
        .sources
        .values()
        .any(|s| s.state == SourceState::CredentialsExpired)
}

/// The banner's first line, cleaned: the profile's name comes from the user's config files.
pub fn message(profile: Option<&Profile>) -> String {
    clean(&credentials_expired_message(profile)).into_owned()
}

/// The second line: what happens meanwhile.
const PAUSED: &str = "the sources are paused; they resume by themselves from where they were";

pub fn render(frame: &mut Frame, area: Rect, view: &View) {
    let theme = view.theme;
    let lines = vec![
        Line::from(vec![
            Span::styled(" ! ", theme.fatal()),
            Span::styled(message(view.header.profile.as_ref()), theme.error()),
        ]),
        Line::from(Span::styled(format!("   {PAUSED}"), theme.text())),
    ];
    // A long fix wraps on a narrow terminal, pushing the second line out: the fix matters more.
    let banner = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .style(theme.selection());
    frame.render_widget(banner, area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Login;

    #[test]
    fn names_the_profile_and_its_fix_without_control_characters() {
        let sso = Profile {
            name: "dev\x1b[2J".into(),
            login: Login::Sso,
        };
        let text = message(Some(&sso));
        assert!(text.contains("aws sso login --profile dev`"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        let keys = Profile {
            name: "ci".into(),
            login: Login::Keys,
        };
        assert!(message(Some(&keys)).contains("refresh the credentials of profile ci"));
        assert!(message(None).contains("log in again"));
    }
}

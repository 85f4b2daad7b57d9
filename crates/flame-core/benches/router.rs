//! Router benchmarks: flame's `Tree` against `matchit::Router` on the same
//! routes, in the same run.
//!
//! 1. `github`: a GitHub REST API route set (388 routes), looking up a mix of
//!    static and parameterised paths;
//! 2. `params`: parameter-heavy routes;
//! 3. `flamego`: Flamego's regex, mixed and glob patterns (flame alone).

#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

// The router is private to flame-core; it depends on nothing else in the crate, so the
// benchmark compiles the very same source as a module of its own. Most of it goes unused here,
// and `clippy --all-targets` checks benches with `cfg(test)`, which brings in its unit tests.
#[path = "../src/router/mod.rs"]
#[allow(dead_code, unreachable_pub, unused_imports)]
mod router;

use router::{Captures, Tree};

/// GitHub REST API paths, in matchit syntax (`{param}`, `{*catch_all}`).
const GITHUB: &str = r#"
/
/app
/app/hook/config
/app/hook/deliveries
/app/hook/deliveries/{delivery_id}
/app/installations
/app/installations/{installation_id}
/app/installations/{installation_id}/access_tokens
/applications/grants
/applications/grants/{grant_id}
/applications/{client_id}/grant
/applications/{client_id}/token
/applications/{client_id}/tokens/{access_token}
/apps/{app_slug}
/authorizations
/authorizations/{authorization_id}
/codes_of_conduct
/codes_of_conduct/{key}
/emojis
/enterprises/{enterprise}/actions/permissions
/enterprises/{enterprise}/actions/runners
/enterprises/{enterprise}/actions/runners/{runner_id}
/events
/feeds
/gists
/gists/public
/gists/starred
/gists/{gist_id}
/gists/{gist_id}/comments
/gists/{gist_id}/comments/{comment_id}
/gists/{gist_id}/commits
/gists/{gist_id}/forks
/gists/{gist_id}/star
/gists/{gist_id}/{sha}
/gitignore/templates
/gitignore/templates/{name}
/installation/repositories
/issues
/legacy/issues/search/{owner}/{repository}/{state}/{keyword}
/legacy/repos/search/{keyword}
/legacy/user/email/{email}
/legacy/user/search/{keyword}
/licenses
/licenses/{license}
/markdown
/markdown/raw
/marketplace_listing/accounts/{account_id}
/marketplace_listing/plans
/marketplace_listing/plans/{plan_id}/accounts
/meta
/networks/{owner}/{repo}/events
/notifications
/notifications/threads/{thread_id}
/notifications/threads/{thread_id}/subscription
/octocat
/organizations
/orgs/{org}
/orgs/{org}/actions/permissions
/orgs/{org}/actions/runners
/orgs/{org}/actions/runners/{runner_id}
/orgs/{org}/actions/secrets
/orgs/{org}/actions/secrets/public-key
/orgs/{org}/actions/secrets/{secret_name}
/orgs/{org}/blocks
/orgs/{org}/blocks/{username}
/orgs/{org}/events
/orgs/{org}/failed_invitations
/orgs/{org}/hooks
/orgs/{org}/hooks/{hook_id}
/orgs/{org}/hooks/{hook_id}/config
/orgs/{org}/hooks/{hook_id}/pings
/orgs/{org}/installation
/orgs/{org}/installations
/orgs/{org}/interaction-limits
/orgs/{org}/invitations
/orgs/{org}/invitations/{invitation_id}
/orgs/{org}/invitations/{invitation_id}/teams
/orgs/{org}/issues
/orgs/{org}/members
/orgs/{org}/members/{username}
/orgs/{org}/memberships/{username}
/orgs/{org}/migrations
/orgs/{org}/migrations/{migration_id}
/orgs/{org}/migrations/{migration_id}/archive
/orgs/{org}/outside_collaborators
/orgs/{org}/outside_collaborators/{username}
/orgs/{org}/packages
/orgs/{org}/packages/{package_type}/{package_name}
/orgs/{org}/packages/{package_type}/{package_name}/versions
/orgs/{org}/packages/{package_type}/{package_name}/versions/{package_version_id}
/orgs/{org}/projects
/orgs/{org}/public_members
/orgs/{org}/public_members/{username}
/orgs/{org}/repos
/orgs/{org}/settings/billing/actions
/orgs/{org}/settings/billing/packages
/orgs/{org}/settings/billing/shared-storage
/orgs/{org}/team-sync/groups
/orgs/{org}/teams
/orgs/{org}/teams/{team_slug}
/orgs/{org}/teams/{team_slug}/discussions
/orgs/{org}/teams/{team_slug}/discussions/{discussion_number}
/orgs/{org}/teams/{team_slug}/discussions/{discussion_number}/comments
/orgs/{org}/teams/{team_slug}/discussions/{discussion_number}/comments/{comment_number}
/orgs/{org}/teams/{team_slug}/discussions/{discussion_number}/reactions
/orgs/{org}/teams/{team_slug}/invitations
/orgs/{org}/teams/{team_slug}/members
/orgs/{org}/teams/{team_slug}/memberships/{username}
/orgs/{org}/teams/{team_slug}/projects
/orgs/{org}/teams/{team_slug}/projects/{project_id}
/orgs/{org}/teams/{team_slug}/repos
/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}
/orgs/{org}/teams/{team_slug}/teams
/projects/columns/cards/{card_id}
/projects/columns/cards/{card_id}/moves
/projects/columns/{column_id}
/projects/columns/{column_id}/cards
/projects/columns/{column_id}/moves
/projects/{project_id}
/projects/{project_id}/collaborators
/projects/{project_id}/collaborators/{username}
/projects/{project_id}/collaborators/{username}/permission
/projects/{project_id}/columns
/rate_limit
/reactions/{reaction_id}
/repos/{owner}/{repo}
/repos/{owner}/{repo}/actions/artifacts
/repos/{owner}/{repo}/actions/artifacts/{artifact_id}
/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}
/repos/{owner}/{repo}/actions/jobs/{job_id}
/repos/{owner}/{repo}/actions/jobs/{job_id}/logs
/repos/{owner}/{repo}/actions/permissions
/repos/{owner}/{repo}/actions/runners
/repos/{owner}/{repo}/actions/runners/{runner_id}
/repos/{owner}/{repo}/actions/runs
/repos/{owner}/{repo}/actions/runs/{run_id}
/repos/{owner}/{repo}/actions/runs/{run_id}/approvals
/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts
/repos/{owner}/{repo}/actions/runs/{run_id}/cancel
/repos/{owner}/{repo}/actions/runs/{run_id}/jobs
/repos/{owner}/{repo}/actions/runs/{run_id}/logs
/repos/{owner}/{repo}/actions/runs/{run_id}/rerun
/repos/{owner}/{repo}/actions/runs/{run_id}/timing
/repos/{owner}/{repo}/actions/secrets
/repos/{owner}/{repo}/actions/secrets/public-key
/repos/{owner}/{repo}/actions/secrets/{secret_name}
/repos/{owner}/{repo}/actions/workflows
/repos/{owner}/{repo}/actions/workflows/{workflow_id}
/repos/{owner}/{repo}/actions/workflows/{workflow_id}/disable
/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches
/repos/{owner}/{repo}/actions/workflows/{workflow_id}/enable
/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs
/repos/{owner}/{repo}/actions/workflows/{workflow_id}/timing
/repos/{owner}/{repo}/assignees
/repos/{owner}/{repo}/assignees/{assignee}
/repos/{owner}/{repo}/autolinks
/repos/{owner}/{repo}/autolinks/{autolink_id}
/repos/{owner}/{repo}/branches
/repos/{owner}/{repo}/branches/{branch}
/repos/{owner}/{repo}/branches/{branch}/protection
/repos/{owner}/{repo}/branches/{branch}/protection/enforce_admins
/repos/{owner}/{repo}/branches/{branch}/protection/required_signatures
/repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks
/repos/{owner}/{repo}/branches/{branch}/protection/restrictions
/repos/{owner}/{repo}/branches/{branch}/rename
/repos/{owner}/{repo}/check-runs
/repos/{owner}/{repo}/check-runs/{check_run_id}
/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations
/repos/{owner}/{repo}/check-suites
/repos/{owner}/{repo}/check-suites/preferences
/repos/{owner}/{repo}/check-suites/{check_suite_id}
/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs
/repos/{owner}/{repo}/check-suites/{check_suite_id}/rerequest
/repos/{owner}/{repo}/code-scanning/alerts
/repos/{owner}/{repo}/code-scanning/alerts/{alert_number}
/repos/{owner}/{repo}/code-scanning/analyses
/repos/{owner}/{repo}/code-scanning/sarifs
/repos/{owner}/{repo}/collaborators
/repos/{owner}/{repo}/collaborators/{username}
/repos/{owner}/{repo}/collaborators/{username}/permission
/repos/{owner}/{repo}/comments
/repos/{owner}/{repo}/comments/{comment_id}
/repos/{owner}/{repo}/comments/{comment_id}/reactions
/repos/{owner}/{repo}/commits
/repos/{owner}/{repo}/commits/{ref}
/repos/{owner}/{repo}/commits/{ref}/branches-where-head
/repos/{owner}/{repo}/commits/{ref}/check-runs
/repos/{owner}/{repo}/commits/{ref}/check-suites
/repos/{owner}/{repo}/commits/{ref}/comments
/repos/{owner}/{repo}/commits/{ref}/pulls
/repos/{owner}/{repo}/commits/{ref}/status
/repos/{owner}/{repo}/commits/{ref}/statuses
/repos/{owner}/{repo}/community/profile
/repos/{owner}/{repo}/compare/{basehead}
/repos/{owner}/{repo}/contents/{*path}
/repos/{owner}/{repo}/contributors
/repos/{owner}/{repo}/deployments
/repos/{owner}/{repo}/deployments/{deployment_id}
/repos/{owner}/{repo}/deployments/{deployment_id}/statuses
/repos/{owner}/{repo}/deployments/{deployment_id}/statuses/{status_id}
/repos/{owner}/{repo}/dispatches
/repos/{owner}/{repo}/downloads
/repos/{owner}/{repo}/downloads/{download_id}
/repos/{owner}/{repo}/environments
/repos/{owner}/{repo}/environments/{environment_name}
/repos/{owner}/{repo}/events
/repos/{owner}/{repo}/forks
/repos/{owner}/{repo}/git/blobs
/repos/{owner}/{repo}/git/blobs/{file_sha}
/repos/{owner}/{repo}/git/commits
/repos/{owner}/{repo}/git/commits/{commit_sha}
/repos/{owner}/{repo}/git/matching-refs/{*ref}
/repos/{owner}/{repo}/git/ref/{*ref}
/repos/{owner}/{repo}/git/refs
/repos/{owner}/{repo}/git/tags
/repos/{owner}/{repo}/git/tags/{tag_sha}
/repos/{owner}/{repo}/git/trees
/repos/{owner}/{repo}/git/trees/{tree_sha}
/repos/{owner}/{repo}/hooks
/repos/{owner}/{repo}/hooks/{hook_id}
/repos/{owner}/{repo}/hooks/{hook_id}/config
/repos/{owner}/{repo}/hooks/{hook_id}/deliveries
/repos/{owner}/{repo}/hooks/{hook_id}/pings
/repos/{owner}/{repo}/hooks/{hook_id}/tests
/repos/{owner}/{repo}/import
/repos/{owner}/{repo}/import/authors
/repos/{owner}/{repo}/import/large_files
/repos/{owner}/{repo}/installation
/repos/{owner}/{repo}/interaction-limits
/repos/{owner}/{repo}/invitations
/repos/{owner}/{repo}/invitations/{invitation_id}
/repos/{owner}/{repo}/issues
/repos/{owner}/{repo}/issues/comments
/repos/{owner}/{repo}/issues/comments/{comment_id}
/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions
/repos/{owner}/{repo}/issues/events
/repos/{owner}/{repo}/issues/events/{event_id}
/repos/{owner}/{repo}/issues/{issue_number}
/repos/{owner}/{repo}/issues/{issue_number}/assignees
/repos/{owner}/{repo}/issues/{issue_number}/comments
/repos/{owner}/{repo}/issues/{issue_number}/events
/repos/{owner}/{repo}/issues/{issue_number}/labels
/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}
/repos/{owner}/{repo}/issues/{issue_number}/lock
/repos/{owner}/{repo}/issues/{issue_number}/reactions
/repos/{owner}/{repo}/issues/{issue_number}/timeline
/repos/{owner}/{repo}/keys
/repos/{owner}/{repo}/keys/{key_id}
/repos/{owner}/{repo}/labels
/repos/{owner}/{repo}/labels/{name}
/repos/{owner}/{repo}/languages
/repos/{owner}/{repo}/license
/repos/{owner}/{repo}/merge-upstream
/repos/{owner}/{repo}/merges
/repos/{owner}/{repo}/milestones
/repos/{owner}/{repo}/milestones/{milestone_number}
/repos/{owner}/{repo}/milestones/{milestone_number}/labels
/repos/{owner}/{repo}/notifications
/repos/{owner}/{repo}/pages
/repos/{owner}/{repo}/pages/builds
/repos/{owner}/{repo}/pages/builds/latest
/repos/{owner}/{repo}/pages/builds/{build_id}
/repos/{owner}/{repo}/pages/health
/repos/{owner}/{repo}/projects
/repos/{owner}/{repo}/pulls
/repos/{owner}/{repo}/pulls/comments
/repos/{owner}/{repo}/pulls/comments/{comment_id}
/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions
/repos/{owner}/{repo}/pulls/{pull_number}
/repos/{owner}/{repo}/pulls/{pull_number}/comments
/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies
/repos/{owner}/{repo}/pulls/{pull_number}/commits
/repos/{owner}/{repo}/pulls/{pull_number}/files
/repos/{owner}/{repo}/pulls/{pull_number}/merge
/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers
/repos/{owner}/{repo}/pulls/{pull_number}/reviews
/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}
/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments
/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals
/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/events
/repos/{owner}/{repo}/pulls/{pull_number}/update-branch
/repos/{owner}/{repo}/readme
/repos/{owner}/{repo}/readme/{dir}
/repos/{owner}/{repo}/releases
/repos/{owner}/{repo}/releases/assets/{asset_id}
/repos/{owner}/{repo}/releases/generate-notes
/repos/{owner}/{repo}/releases/latest
/repos/{owner}/{repo}/releases/tags/{tag}
/repos/{owner}/{repo}/releases/{release_id}
/repos/{owner}/{repo}/releases/{release_id}/assets
/repos/{owner}/{repo}/releases/{release_id}/reactions
/repos/{owner}/{repo}/secret-scanning/alerts
/repos/{owner}/{repo}/secret-scanning/alerts/{alert_number}
/repos/{owner}/{repo}/stargazers
/repos/{owner}/{repo}/stats/code_frequency
/repos/{owner}/{repo}/stats/commit_activity
/repos/{owner}/{repo}/stats/contributors
/repos/{owner}/{repo}/stats/participation
/repos/{owner}/{repo}/stats/punch_card
/repos/{owner}/{repo}/statuses/{sha}
/repos/{owner}/{repo}/subscribers
/repos/{owner}/{repo}/subscription
/repos/{owner}/{repo}/tags
/repos/{owner}/{repo}/tarball/{ref}
/repos/{owner}/{repo}/teams
/repos/{owner}/{repo}/topics
/repos/{owner}/{repo}/traffic/clones
/repos/{owner}/{repo}/traffic/popular/paths
/repos/{owner}/{repo}/traffic/popular/referrers
/repos/{owner}/{repo}/traffic/views
/repos/{owner}/{repo}/transfer
/repos/{owner}/{repo}/vulnerability-alerts
/repos/{owner}/{repo}/zipball/{ref}
/repositories
/scim/v2/enterprises/{enterprise}/Groups
/scim/v2/enterprises/{enterprise}/Users
/search/code
/search/commits
/search/issues
/search/labels
/search/repositories
/search/topics
/search/users
/teams/{team_id}
/teams/{team_id}/discussions
/teams/{team_id}/discussions/{discussion_number}
/teams/{team_id}/invitations
/teams/{team_id}/members
/teams/{team_id}/members/{username}
/teams/{team_id}/memberships/{username}
/teams/{team_id}/projects
/teams/{team_id}/repos
/teams/{team_id}/repos/{owner}/{repo}
/teams/{team_id}/teams
/user
/user/blocks
/user/blocks/{username}
/user/emails
/user/followers
/user/following
/user/following/{username}
/user/gpg_keys
/user/gpg_keys/{gpg_key_id}
/user/installations
/user/installations/{installation_id}/repositories
/user/interaction-limits
/user/issues
/user/keys
/user/keys/{key_id}
/user/memberships/orgs
/user/memberships/orgs/{org}
/user/migrations
/user/migrations/{migration_id}
/user/orgs
/user/packages
/user/projects
/user/public_emails
/user/repos
/user/repository_invitations
/user/repository_invitations/{invitation_id}
/user/starred
/user/starred/{owner}/{repo}
/user/subscriptions
/user/subscriptions/{owner}/{repo}
/user/teams
/users
/users/{username}
/users/{username}/events
/users/{username}/events/orgs/{org}
/users/{username}/events/public
/users/{username}/followers
/users/{username}/following
/users/{username}/following/{target_user}
/users/{username}/gists
/users/{username}/gpg_keys
/users/{username}/hovercard
/users/{username}/installation
/users/{username}/keys
/users/{username}/orgs
/users/{username}/packages
/users/{username}/projects
/users/{username}/received_events
/users/{username}/received_events/public
/users/{username}/repos
/users/{username}/settings/billing/actions
/users/{username}/starred
/users/{username}/subscriptions
/zen
"#;

/// matchit syntax to flame syntax: `{*rest}` is the glob `{rest: **}`.
fn to_flame(route: &str) -> String {
    let mut out = String::with_capacity(route.len() + 4);
    let mut rest = route;
    while let Some(i) = rest.find("{*") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find('}').map_or(rest.len(), |j| i + j);
        out.push('{');
        out.push_str(&rest[i + 2..end]);
        out.push_str(": **}");
        rest = rest.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

fn github_routes() -> Vec<&'static str> {
    GITHUB
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

const GITHUB_STATIC: &[&str] = &[
    "/user/repos",
    "/emojis",
    "/rate_limit",
    "/search/code",
    "/user/memberships/orgs",
    "/gitignore/templates",
    "/notifications",
    "/marketplace_listing/plans",
];

const GITHUB_MIXED: &[&str] = &[
    "/user/repos",
    "/repos/rust-lang/rust/stargazers",
    "/orgs/rust-lang/public_members/nikomatsakis",
    "/repos/rust-lang/rust/releases/1.51.0",
    "/repos/flamego/flamego/issues/123/comments",
    "/users/unknwon/received_events/public",
    "/repos/flamego/flamego/git/trees/0a1b2c3d",
    "/repos/flamego/flamego/pulls/7/reviews/42/comments",
    "/orgs/flamego/teams/core/discussions/3/comments/4",
    "/repos/flamego/flamego/contents/docs/content/routing.md",
    "/gists/aa5a315d61ae9438b18d/star",
    "/emojis",
    "/search/repositories",
    "/teams/1/repos/flamego/flamego",
    "/legacy/issues/search/flamego/flamego/open/router",
    "/repos/flamego/flamego/actions/runs/99/logs",
];

fn bench_pair(c: &mut Criterion, group: &str, routes: &[&str], paths: &[&str]) {
    let mut tree = Tree::new();
    let mut mit = matchit::Router::new();
    let mut skipped = 0;
    for (i, route) in routes.iter().enumerate() {
        tree.insert(&to_flame(route), i).expect("flame insert");
        if mit.insert(*route, i).is_err() {
            skipped += 1;
        }
    }
    let mut caps = Captures::new();
    for path in paths {
        let a = tree.find(path, &mut caps, |_| true).copied();
        let b = mit.at(path).ok().map(|m| *m.value);
        assert_eq!(a, b, "flame and matchit disagree on {path}");
        assert!(a.is_some(), "no route for {path}");
    }
    if skipped > 0 {
        eprintln!("{group}: matchit rejected {skipped} routes");
    }

    let mut g = c.benchmark_group(group);
    g.bench_function("flame", |b| {
        let mut caps = Captures::new();
        b.iter(|| {
            for path in paths {
                black_box(tree.find(black_box(path), &mut caps, |_| true));
                black_box(caps.len());
            }
        })
    });
    g.bench_function("matchit", |b| {
        b.iter(|| {
            for path in paths {
                let m = mit.at(black_box(path));
                black_box(m.map(|m| m.params.len()).ok());
            }
        })
    });
    g.finish();
}

fn github(c: &mut Criterion) {
    let routes = github_routes();
    bench_pair(c, "github/static", &routes, GITHUB_STATIC);
    bench_pair(c, "github/mixed", &routes, GITHUB_MIXED);
}

fn params(c: &mut Criterion) {
    let routes = [
        "/{a}",
        "/{a}/{b}",
        "/{a}/{b}/{c}",
        "/{a}/{b}/{c}/{d}",
        "/{a}/{b}/{c}/{d}/{e}",
        "/api/{version}/users/{user}/posts/{post}/comments/{comment}",
        "/api/{version}/users/{user}/posts/{post}",
        "/api/{version}/orgs/{org}/repos/{repo}/issues/{issue}/labels/{label}",
        "/api/{version}/orgs/{org}/repos/{repo}/issues/{issue}",
    ];
    let paths = [
        "/one",
        "/one/two/three",
        "/one/two/three/four/five",
        "/api/v1/users/joe/posts/42/comments/7",
        "/api/v2/orgs/flamego/repos/flamego/issues/123/labels/bug",
    ];
    bench_pair(c, "params", &routes, &paths);
}

fn flamego(c: &mut Criterion) {
    let routes = [
        "/users/{name: /[a-zA-Z0-9]+/}",
        "/posts/{year: /[0-9]{4}/}-{month: /[0-9]{2}/}-{day: /[0-9]{2}/}.html",
        "/geo/{state: /[A-Z]{2}/}/{city}",
        r"/articles/article_{id: /\d+/}-{slug: /[a-z-]+/}.{ext: /md|txt/}",
        "/compare/{base}...{head}",
        "/repos/{owner}/{name}:settings",
        "/posts/{**}",
        "/webhooks/{repo: **}/events",
        "/geo2/{**: **, capture: 2}",
        "/files/{prefix: **}/blob/{path: **}",
        "/archive/{head: **, capture: 2}/{tail: **}",
        "/user/?settings",
    ];
    let mut tree = Tree::new();
    for r in routes {
        tree.insert(r, r).expect("insert");
    }
    let paths = [
        ("regex", "/users/joe"),
        ("regex3", "/posts/2021-11-26.html"),
        ("regex_then_placeholder", "/geo/MA/boston"),
        ("mixed3", "/articles/article_12-hello-world.md"),
        ("mixed_placeholders", "/compare/main...feature"),
        ("placeholder_suffix", "/repos/flamego/flamego:settings"),
        ("glob_leaf", "/posts/2021/11/26.html"),
        ("glob_middle", "/webhooks/flamego/flamego/events"),
        ("glob_capped", "/geo2/ma/boston"),
        ("two_globs_static", "/files/a/b/blob/c/d"),
        ("two_globs_capped", "/archive/a/b/c/d"),
        ("optional", "/user"),
        ("percent_encoded", "/users/%6Aoe"),
    ];
    let mut g = c.benchmark_group("flamego");
    let mut caps = Captures::new();
    for (name, path) in paths {
        assert!(tree.find(path, &mut caps, |_| true).is_some(), "{path}");
        g.bench_function(name, |b| {
            b.iter(|| {
                black_box(tree.find(black_box(path), &mut caps, |_| true));
            })
        });
    }
    g.finish();
}

criterion_group!(benches, github, params, flamego);
criterion_main!(benches);

//! The reference platform's API called directly as the seeded expert: what
//! the app's tests compare the app's answers with.

use assay_platform::testing::TestPlatform;
use reqwest::Method;
use serde::de::DeserializeOwned;

/// `method path` (under `/api/v1`) with the seeded expert's token; the JSON
/// answer. A failed request or status fails the test.
pub async fn expert_json<T: DeserializeOwned>(
    platform: &TestPlatform,
    method: Method,
    path: &str,
) -> T {
    reqwest::Client::new()
        .request(method, platform.api_url(path))
        .bearer_auth(&platform.expert_token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

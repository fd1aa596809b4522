"""Field lists generated from openapi-subset.json by tools/gen_models.py: do not edit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    """Base of every API object: unknown fields are kept in ``model_extra``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)


class RunList(ApiModel):
    """``RunList`` in the contract."""

    id: int | None = None
    provider_call_id: str | None = None
    trace_id: str | None = None
    scenario: int | None = None
    scenario_name: Any = None
    personality: int | None = None
    personality_name: Any = None
    result_id: int | None = None
    agent: int | None = None
    agent_name: Any = None
    duration: Any = None
    status: str | None = None
    evaluation_status: str | None = None
    expected_outcome: Any = None
    success: bool | None = None
    timestamp: datetime | None = None
    executed_at: datetime | None = None
    metadata: Any = None
    outbound_number: Any = None
    inbound_number: Any = None
    critical_categories: Any = None
    metrics: Any = None
    error_message: str | None = None
    run_as_text: bool | None = None
    test_profile_name: Any = None
    agent_number: Any = None
    run_type: Any = None
    agent_version: Any = None
    outbound_dial_window_opens_at: Any = None
    outbound_dial_window_seconds: Any = None
    outbound_dial_window_closes_at: Any = None


class Run(ApiModel):
    """``Run`` in the contract."""

    id: int | None = None
    provider_call_id: Any = None
    trace_id: str | None = None
    scenario: int | None = None
    scenario_name: Any = None
    scenario_type: Any = None
    personality: int | None = None
    personality_name: Any = None
    agent: int | None = None
    agent_name: Any = None
    agent_version: Any = None
    result_id: int | None = None
    result_name: Any = None
    expected_outcome_prompt: Any = None
    expected_outcome: Any = None
    evaluation: Evaluation | None = None
    rubric: Any = None
    transcript: Any = None
    transcript_object: list[TranscriptTurn] | None = None
    duration: Any = None
    voice_recording_url: Any = None
    email_id: str | None = None
    status: str | None = None
    evaluation_status: str | None = None
    metadata: Any = None
    success: bool | None = None
    is_reviewed: bool | None = None
    feedback: str | None = None
    timestamp: datetime | None = None
    executed_at: datetime | None = None
    outbound_number: Any = None
    inbound_number: Any = None
    critical_categories: list[CriticalCategory] | None = None
    error_message: str | None = None
    scenario_instructions: str | None = None
    run_as_text: bool | None = None
    test_profile_data: Any = None
    generated_mock_tool_entries: list[dict[str, Any]] | None = None
    mocked_tool_names: list[str] | None = None
    provider_call_details: Any = None
    agent_number: Any = None
    testing_channel_index: int | None = None
    run_type: Any = None
    outbound_dial_window_opens_at: Any = None
    outbound_dial_window_seconds: Any = None
    outbound_dial_window_closes_at: Any = None


class Evaluation(ApiModel):
    """``Evaluation`` in the contract."""

    metrics: list[MetricResult] | None = None


class MetricResult(ApiModel):
    """``CallLogListSerializerMetricsWithExplanation`` in the contract."""

    id: int | None = None
    name: str | None = None
    type: str | None = None
    score: float | None = None
    enum: str | None = None
    value: str | None = None
    explanation: Any = None
    extra: dict[str, Any] | None = None
    eval_type: str | None = None
    passed: bool | None = None
    function_name: str | None = None


class CriticalCategory(ApiModel):
    """``RunListCriticalCategories`` in the contract."""

    category_id: int | None = None
    category: str | None = None
    deviation: float | None = None
    wrongly_marked: bool | None = None
    feedback: str | None = None
    priority: str | None = None


class TranscriptTurn(ApiModel):
    """``RunListTranscriptObject`` in the contract."""

    role: str | None = None
    content: str | None = None
    timestamp: float | None = None
    normalized_content: str | None = None
    comparison_spans: list[Any] | None = None


class ScenarioList(ApiModel):
    """``ScenarioList`` in the contract."""

    id: int | None = None
    name: str | None = None
    personality: int | None = None
    personality_name: Any = None
    agent_name: Any = None
    phone_number: Any = None
    expected_outcome_prompt: Any = None
    instructions: str | None = None
    scenario_language: str | None = None
    scenario_type: str | None = None
    tags: Any = None
    agent: int | None = None
    inbound_phone_number: int | None = None
    inbound_phone_number_data: Any = None
    metrics: Any = None
    metric_names: Any = None
    first_message: str | None = None
    tool_ids: Any = None
    test_profile: int | None = None
    test_profile_data: TestProfile | None = None
    dynamic_variable_values: Any = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: int | None = None
    last_updated_by: int | None = None
    folder_path: str | None = None


class Scenario(ApiModel):
    """``SchemaScenario`` in the contract."""

    id: int | None = None
    name: str | None = None
    agent: int | None = None
    project: int | None = None
    personality: int | None = None
    personality_name: str | None = None
    agent_name: Any = None
    tags: list[str] | None = None
    tool_ids: Any = None
    metrics: list[int] | None = None
    metric_names: list[str] | None = None
    phone_number: str | None = None
    outbound_phone_number_data: PhoneNumber | None = None
    first_message: str | None = None
    inbound_phone_number: int | None = None
    inbound_phone_number_data: PhoneNumber | None = None
    instructions: str | None = None
    simulation_description: str | None = None
    information_fields: dict[str, Any] | None = None
    expected_outcome_prompt: str | None = None
    scenario_language: str | None = None
    scenario_type: str | None = None
    suite_type: str | None = None
    is_predefined: bool | None = None
    test_profile: int | None = None
    test_profile_data: TestProfile | None = None
    dynamic_variable_values: Any = None
    generated_mock_tool_entries: Any = None
    folder_path: str | None = None
    max_duration: int | None = None


class Metric(ApiModel):
    """``MetricList`` in the contract."""

    id: int | None = None
    slug: str | None = None
    project: int | None = None
    agents: list[int] | None = None
    agent_names: Any = None
    name: str | None = None
    description: str | None = None
    function_name: str | None = None
    type: str | None = None
    eval_type: str | None = None
    enum_values: Any = None
    audio_enabled: bool | None = None
    observability_enabled: bool | None = None
    simulation_enabled: bool | None = None
    sampling_enabled: bool | None = None
    prompt: str | None = None
    display_order: int | None = None
    evaluation_trigger: str | None = None
    trigger_type: str | None = None
    evaluation_trigger_prompt: str | None = None
    evaluation_trigger_custom_code: str | None = None
    priority_assignment_prompt: str | None = None
    vocera_defined_metric_code: str | None = None
    configuration: Any = None
    kb_file_ids: list[int] | None = None
    knowledge_base_files: list[Any] | None = None
    metric_cost: float | None = None
    alert_type: str | None = None
    significant_change_alert_status: str | None = None
    significant_change_alert_direction: str | None = None
    window_size: int | None = None
    std_multiplier: float | None = None
    ewma_alpha: float | None = None
    add_to_new_agents: bool | None = None
    alert_filters: Any = None
    slack_workspace: int | None = None
    slack_channel_id: str | None = None
    uses_llm_judge: Any = None


class Personality(ApiModel):
    """``CreatePersonality`` in the contract."""

    id: int | None = None
    project: int | None = None
    name: str | None = None
    prompt: str | None = None
    language: str | None = None
    accent: str | None = None
    background_noise: str | None = None
    voice_model: str | None = None
    voice_id: str | None = None
    interruption_level: str | None = None
    speed: str | None = None
    generation_config: str | None = None
    network_simulation: str | None = None
    message_plan: str | None = None
    start_speaking_plan: str | None = None
    stop_speaking_plan: str | None = None
    background_sound_volume: str | None = None
    patronus_settings: Any = None
    provider_agent_id: Any = None
    end_call_enabled: bool | None = None
    provider: str | None = None


class Result(ApiModel):
    """``Result`` in the contract."""

    id: int | None = None
    name: str | None = None
    agent: int | None = None
    agent_name: Any = None
    agent_inbound: bool | None = None
    status: str | None = None
    success_rate: float | None = None
    run_as_text: bool | None = None
    is_cronjob: Any = None
    runs: Any = None
    met_expected_outcome_count: Any = None
    total_expected_outcome_count: Any = None
    total_runs_count: Any = None
    completed_runs_count: Any = None
    success_runs_count: Any = None
    failed_runs_count: Any = None
    scenarios: Any = None
    run_type: Any = None
    agent_version: Any = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Agent(ApiModel):
    """``AIAgent`` in the contract."""

    id: int | None = None
    project: int | None = None
    agent_name: str | None = None
    contact_number: str | None = None
    inbound: bool | None = None
    description: str | None = None
    language: str | None = None
    assistant_id: str | None = None
    chat_assistant_id: str | None = None
    websocket_url: str | None = None
    websocket_headers: dict[str, Any] | None = None
    llm_system_prompt: str | None = None
    llm_model: str | None = None
    llm_temperature: float | None = None
    llm_max_tokens: int | None = None
    outbound_auto_call: bool | None = None
    sip_endpoint: str | None = None
    sip_auth: Any = None
    websocket_voice_url: str | None = None
    websocket_auth: Any = None
    knowledge_base_files: Any = None
    transcript_provider: str | None = None
    assistant_provider: str | None = None
    vapi_api_key_configured: Any = None
    vapi_public_key_configured: Any = None
    retell_api_key_configured: Any = None
    elevenlabs_api_key_configured: Any = None
    bland_api_key_configured: Any = None
    bland_data: str | None = None
    livekit_api_key_configured: Any = None
    livekit_data: str | None = None
    pipecat_api_key_configured: Any = None
    pipecat_data: str | None = None
    koreai_client_secret_configured: Any = None
    koreai_api_key_configured: Any = None
    koreai_data: str | None = None
    genesys_client_secret_configured: Any = None
    genesys_data: str | None = None
    agentforce_client_secret_configured: Any = None
    agentforce_data: str | None = None
    sierra_agent_token_configured: Any = None
    sierra_data: str | None = None
    amazon_connect_security_token_configured: Any = None
    amazon_connect_data: str | None = None
    custom_provider_api_key_configured: Any = None
    custom_provider_data: str | None = None
    vapi_data: str | None = None
    retell_data: str | None = None
    elevenlabs_data: str | None = None
    agora_data: str | None = None
    synthflow_api_key_configured: Any = None
    synthflow_data: str | None = None
    telnyx_api_key_configured: Any = None
    enabled_personalities: list[int] | None = None
    dropoff_nodes: Any = None
    topic_nodes: Any = None
    pronunciation_words: Any = None
    spelling_word_types: Any = None
    auto_update_dropoff_nodes: bool | None = None
    auto_update_topic_nodes: bool | None = None
    hallucination_metric_kb_files: list[int] | None = None
    outbound_numbers: Any = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    auto_fetch_calls_enabled: bool | None = None
    auto_sync_prompt_enabled: bool | None = None
    agent_gives_first_message: bool | None = None
    webhook_url: str | None = None
    webhook_secret_configured: Any = None
    email_id: str | None = None


class AgentV2(ApiModel):
    """``AIAgentV2`` in the contract."""

    id: int | None = None
    name: str | None = None
    description: str | None = None
    project: int | None = None
    language: str | None = None
    telephony: Any = None
    provider: Any = None
    agent_speaks_first: bool | None = None
    knowledge_base_files: list[Any] | None = None
    enabled_personalities: list[int] | None = None
    webhook_url: str | None = None
    webhook_secret_configured: Any = None
    mock_tools: list[Any] | None = None
    mock_tools_enabled: bool | None = None
    mock_tools_provider: Any = None
    dynamic_variables: list[Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    email_id: str | None = None


class MetricV2(ApiModel):
    """``MetricListSerializerV2`` in the contract."""

    id: int | None = None
    slug: str | None = None
    project: int | None = None
    agents: list[int] | None = None
    agent_names: Any = None
    name: str | None = None
    description: str | None = None
    function_name: str | None = None
    type: str | None = None
    eval_type: str | None = None
    enum_values: Any = None
    audio_enabled: bool | None = None
    observability_enabled: bool | None = None
    simulation_enabled: bool | None = None
    sampling_enabled: bool | None = None
    prompt: str | None = None
    display_order: int | None = None
    evaluation_trigger: str | None = None
    trigger_type: str | None = None
    evaluation_trigger_prompt: str | None = None
    evaluation_trigger_custom_code: str | None = None
    priority_assignment_prompt: str | None = None
    vocera_defined_metric_code: str | None = None
    configuration: Any = None
    overall_score: Any = None
    total_score: Any = None
    kb_file_ids: list[int] | None = None
    knowledge_base_files: list[Any] | None = None
    metric_cost: float | None = None
    alert_type: str | None = None
    significant_change_alert_status: str | None = None
    significant_change_alert_direction: str | None = None
    window_size: int | None = None
    std_multiplier: float | None = None
    ewma_alpha: float | None = None
    add_to_new_agents: bool | None = None
    alert_filters: Any = None
    slack_workspace: int | None = None
    slack_channel_id: str | None = None
    uses_llm_judge: Any = None


class TestProfile(ApiModel):
    """``AIAgentTestProfile`` in the contract."""

    id: int | None = None
    project: int | None = None
    agent: int | None = None
    agent_name: Any = None
    name: str | None = None
    information: Any = None
    created_by: int | None = None
    last_updated_by: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class PhoneNumber(ApiModel):
    """``PhoneNumberInbound`` in the contract."""

    id: int | None = None
    number: str | None = None
    phone_number_id: str | None = None


class ImproveInstructionsResponse(ApiModel):
    """``ImproveInstructionsResponse`` in the contract."""

    progress_id: str | None = None
    project_id: int | None = None
